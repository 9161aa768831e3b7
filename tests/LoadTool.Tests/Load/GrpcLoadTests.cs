using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Reporting;
using ServingGateway.LoadTool.Results;
using ServingGateway.LoadTool.Tests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.LoadTool.Tests.Load;

/// <summary>
/// <c>--protocol grpc</c> over real HTTP/2 on loopback against <see cref="GrpcTestServer"/>: what goes on the wire,
/// how statuses are counted, how streams map to connections. Each run is a closed loop on a fake clock (so it
/// never ends by time) stopped once the server has answered enough requests; the claims are counts, not latency.
/// </summary>
public sealed class GrpcLoadTests
{
    [Fact]
    public async Task RunAsync_GrpcClosedLoop_SendsThePrebuiltRawRequestAndCountsOk()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var time = new FakeTimeProvider();
        using var session = await LoadSession.CreateAsync(Options(server, apiKey: "k1"), time, CancellationToken.None);

        var summary = await RunUntilAsync(session, server, clients: 4, requests: 200);

        Assert.Equal(0, summary.Errors);
        Assert.True(summary.Successes >= 150, $"{summary.Successes} successes");
        Assert.Equal(summary.Responses, summary.StatusCounts[ResponseStatus.Grpc(StatusCode.OK)]);
        Assert.Equal(summary.Responses, summary.ServedBy["grpc-test-server"]);
        // Every request is the one built from the metadata (x: FP32 [1,4] raw, no typed contents), byte for byte.
        var body = Assert.Single(session.Targets[0].Bodies);
        Assert.All(server.Requests, request =>
        {
            Assert.Equal("m", request.ModelName);
            var input = Assert.Single(request.Inputs);
            Assert.Equal(("x", "FP32"), (input.Name, input.Datatype));
            Assert.Equal([1L, 4L], input.Shape);
            Assert.Null(input.Contents);
            Assert.Equal(16, Assert.Single(request.RawInputContents).Length);
            Assert.Equal(body.Bytes, request.ToByteArray());
        });
        Assert.Equal(["Bearer k1"], server.Authorizations.Keys);
    }

    [Fact]
    public async Task RunAsync_GrpcRefusals_CountedByStatusNameAsRefusalsWithRetryAfter()
    {
        // The first request (the session's check) is answered; then every second one UNAVAILABLE with retry-after,
        // every third (not second) RESOURCE_EXHAUSTED without it.
        await using var server = await GrpcTestServer.StartAsync(n =>
            n > 1 && n % 2 == 0 ? (StatusCode.Unavailable, "queue full", "1")
            : n > 1 && n % 3 == 0 ? (StatusCode.ResourceExhausted, "rate limited", null)
            : null);
        var time = new FakeTimeProvider();
        using var session = await LoadSession.CreateAsync(Options(server), time, CancellationToken.None);

        var summary = await RunUntilAsync(session, server, clients: 2, requests: 300);

        var unavailable = summary.StatusCounts[ResponseStatus.Grpc(StatusCode.Unavailable)];
        var exhausted = summary.StatusCounts[ResponseStatus.Grpc(StatusCode.ResourceExhausted)];
        Assert.True(unavailable > 50 && exhausted > 20, $"UNAVAILABLE {unavailable}, RESOURCE_EXHAUSTED {exhausted}");
        Assert.Equal(unavailable + exhausted, summary.Refusals);
        Assert.Equal(unavailable, summary.RefusalsWithRetryAfter);
        Assert.Equal(summary.Responses - summary.Successes, summary.Errors);
        Assert.Equal(unavailable, summary.ErrorCounts[new ErrorKey(ResponseStatus.Grpc(StatusCode.Unavailable), "queue full")]);
        var report = new RunReport(summary, [], server.Url.ToString(), ["m"], "run");
        var statuses = ReportTables.ForRun(report).Single(t => t.Title == "Status codes");
        Assert.Equal(["OK", "RESOURCE_EXHAUSTED", "UNAVAILABLE"], statuses.Rows.Select(r => r[0]));
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData(3, 3)]
    public async Task RunAsync_GrpcConnections_StreamsShareThatManyHttp2Connections(int? connections, int expected)
    {
        await using var server = await GrpcTestServer.StartAsync();
        var time = new FakeTimeProvider();
        var options = Options(server);
        options.Connections = connections;
        using var session = await LoadSession.CreateAsync(options, time, CancellationToken.None);

        var summary = await RunUntilAsync(session, server, clients: 12, requests: 120);

        Assert.Equal(0, summary.Errors);
        Assert.Equal(expected, server.Connections.Count);
    }

    [Fact]
    public async Task CreateAsync_GrpcFirstRequestRefused_StopsWithTheStatusName()
    {
        await using var server = await GrpcTestServer.StartAsync(_ => (StatusCode.InvalidArgument, "input 'x': bad shape", null));

        var error = await Assert.ThrowsAsync<LoadToolException>(() => LoadSession.CreateAsync(Options(server), new FakeTimeProvider(), CancellationToken.None));

        Assert.Equal("model 'm': the first request was answered INVALID_ARGUMENT: input 'x': bad shape", error.Message);
    }

    [Fact]
    public async Task CreateAsync_GrpcUnknownModel_StopsWithTheMetadataStatus()
    {
        await using var server = await GrpcTestServer.StartAsync();
        var options = Options(server);
        options.Model = "nope";

        var error = await Assert.ThrowsAsync<LoadToolException>(() => LoadSession.CreateAsync(options, new FakeTimeProvider(), CancellationToken.None));

        Assert.Equal($"ModelMetadata 'nope' at {server.Url} answered NOT_FOUND: unknown model 'nope'", error.Message);
    }

    private static LoadOptions Options(GrpcTestServer server, string? apiKey = null) =>
        new() { Url = server.Url, Model = "m", Protocol = LoadProtocol.Grpc, Timeout = TimeSpan.FromSeconds(10), ApiKey = apiKey };

    private static async Task<RunSummary> RunUntilAsync(LoadSession session, GrpcTestServer server, int clients, int requests)
    {
        using var enough = new CancellationTokenSource();
        var run = session.RunAsync(LoadShape.Closed(clients), TimeSpan.FromMinutes(10), TimeSpan.Zero, progress: null, enough.Token);
        await Poll.UntilAsync(() => run.IsCompleted || server.Count >= requests, $"{requests} requests answered");
        await enough.CancelAsync();
        return await Poll.DoneAsync(run, "the run stopped");
    }
}
