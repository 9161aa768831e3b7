using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenInferenceProtocol;
using ServingGateway.Auth;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Two node processes, each on a loopback address of its own (127.0.0.2, 127.0.0.3) with its gRPC listener on one
/// shared port (the edge's Edge:NodeGrpcPort); they take only the edge's key.
/// </summary>
public sealed class TwoGrpcNodes : IAsyncLifetime
{
    public const string NodeKey = "grpc-edge-node";

    private readonly TempModelRepository _models = new("mlp", "fixed");

    internal NodeProcess[] Nodes { get; private set; } = [];

    internal int GrpcPort { get; } = NodeProcess.FreePort("127.0.0.2");

    public async Task InitializeAsync() => Nodes = await Task.WhenAll(new[] { "127.0.0.2", "127.0.0.3" }.Select((host, i) =>
        NodeProcess.StartGrpcNodeAsync(_models.Path, $"node-{i + 1}", host, GrpcPort, "--Node:Keys:0:Name", "edge", "--Node:Keys:0:Sha256", ApiKeyMiddleware.Hash(NodeKey))));

    public async Task DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        _models.Dispose();
    }
}

/// <summary>
/// gRPC through an edge (issue 18, item 3), with the generated client: the model name read from the message routes
/// ModelInfer to the node the model hashes to (the node REST goes to), keys hold, and a per-model rate limit refuses
/// with RESOURCE_EXHAUSTED and a retry-after trailer, at the edge and in standalone.
/// </summary>
public sealed class EdgeGrpcTests(TwoGrpcNodes fixture) : IClassFixture<TwoGrpcNodes>
{
    private const string InferKey = "grpc-edge-infer";
    private const string DeployKey = "grpc-edge-deploy";

    private static readonly string[] Keys =
    [
        "--Auth:Keys:0:Name", "infer", "--Auth:Keys:0:Sha256", ApiKeyMiddleware.Hash(InferKey), "--Auth:Keys:0:Roles:0", "infer",
        "--Auth:Keys:1:Name", "deploy", "--Auth:Keys:1:Sha256", ApiKeyMiddleware.Hash(DeployKey), "--Auth:Keys:1:Roles:0", "infer", "--Auth:Keys:1:Roles:1", "deploy",
    ];

    private Task<GatewayServer> StartEdgeAsync(params string[] extra) => GatewayServer.StartWithGrpcAsync(RepoPaths.TestModels,
    [
        "--role", "edge", "--Edge:NodeKey", TwoGrpcNodes.NodeKey, "--Edge:NodeGrpcPort", $"{fixture.GrpcPort}",
        "--Edge:HealthCheckIntervalSeconds", "0.5",
        .. fixture.Nodes.SelectMany(n => new[] { "--node", n.Url }), .. Keys, .. extra,
    ]);

    private static Metadata Bearer(string key, string? routingKey = null)
    {
        var headers = new Metadata { { "authorization", "Bearer " + key } };
        if (routingKey is not null)
        {
            headers.Add("x-routing-key", routingKey);
        }

        return headers;
    }

    private static ModelInferRequest Mlp() => GrpcTests.RawRequest("mlp", "input", [1, 64], new byte[256]);

    [Fact]
    public async Task ModelInfer_ThroughTheEdge_ServedByTheNodeTheModelHashesTo()
    {
        await using var edge = await StartEdgeAsync();
        using var channel = GrpcChannel.ForAddress(edge.GrpcAddress!);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        // Sixteen routing keys spread mlp over both nodes; gRPC must land where REST does, key by key, which it can
        // only if the edge hashed the same "mlp\nkey" (a request routed by its method would hash another key).
        var grpcServedBy = new List<string>();
        var restServedBy = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            using var call = client.ModelInferAsync(Mlp(), Bearer(InferKey, $"key-{i}"));
            var reply = await call.ResponseAsync;
            Assert.Equal("mlp", reply.ModelName);
            grpcServedBy.Add((await call.ResponseHeadersAsync).GetValue("x-served-by")!);

            using var rest = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])) };
            rest.Headers.Add("Authorization", "Bearer " + InferKey);
            rest.Headers.Add("X-Routing-Key", $"key-{i}");
            using var response = await edge.Client.SendAsync(rest);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            restServedBy.Add(response.Headers.GetValues("X-Served-By").Single());
        }

        Assert.Equal(restServedBy, grpcServedBy);
        Assert.Equal(["node-1", "node-2"], grpcServedBy.Distinct().Order(StringComparer.Ordinal));

        // The edge counts what it forwarded to each node's gRPC address as it counts REST.
        var metrics = await edge.Client.GetStringAsync("metrics");
        Assert.Matches($"sg_edge_forwarded_total\\{{node=\"{fixture.Nodes[0].Url}\",outcome=\"success\"\\}} [1-9]", metrics);
    }

    [Fact]
    public async Task DeadNodeInTheList_GrpcConnectFailuresAreRetriedOnTheNextNode()
    {
        // Nothing listens on the third node's address; the health checks (one probe a minute here) have not marked it
        // when the calls come, so every call it owns is refused at connect, and must be sent to the next node.
        var dead = $"http://127.0.0.4:{NodeProcess.FreePort("127.0.0.4")}";
        await using var edge = await StartEdgeAsync("--node", dead, "--Edge:HealthCheckIntervalSeconds", "60");
        using var channel = GrpcChannel.ForAddress(edge.GrpcAddress!);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var servedBy = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var call = client.ModelInferAsync(Mlp(), Bearer(InferKey, $"key-{i}"));
            Assert.Single((await call.ResponseAsync).RawOutputContents);
            return (await call.ResponseHeadersAsync).GetValue("x-served-by");
        }));

        Assert.All(servedBy, s => Assert.StartsWith("node-", s, StringComparison.Ordinal));
        var metrics = await edge.Client.GetStringAsync("metrics");
        Assert.Matches($"sg_edge_retries_total\\{{node=\"{dead}\"\\}} [1-9]", metrics);
    }

    [Fact]
    public async Task Keys_ThroughTheEdge_UnauthenticatedPermissionDeniedThenOk()
    {
        await using var edge = await StartEdgeAsync();
        using var channel = GrpcChannel.ForAddress(edge.GrpcAddress!);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        var anonymous = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(Mlp()));
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(Mlp(), Bearer("nobody")));
        var inferOnLoad = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "mlp" }, Bearer(InferKey)));

        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, unknown.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, inferOnLoad.StatusCode);
        Assert.Equal("this API key lacks the deploy role", inferOnLoad.Status.Detail);

        // The right keys: the nodes take only the edge's key, so these answers came through it.
        Assert.Single((await client.ModelInferAsync(Mlp(), Bearer(InferKey))).RawOutputContents);
        await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "mlp" }, Bearer(DeployKey));
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "mlp" }, Bearer(InferKey))).Ready);
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready); // public, as REST's health

        // A node's NOT_FOUND is the caller's error in the edge's counts, as REST's 404 (a gRPC answer is HTTP 200).
        var unknownModel = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(GrpcTests.RawRequest("nosuchmodel", "input", [1, 64], new byte[256]), Bearer(InferKey)));
        Assert.Equal(StatusCode.NotFound, unknownModel.StatusCode);
        Assert.Matches("sg_edge_forwarded_total\\{node=\"[^\"]+\",outcome=\"client_error\"\\} [1-9]", await edge.Client.GetStringAsync("metrics"));
    }

    [Fact]
    public async Task PerModelRateLimit_ThroughTheEdge_ResourceExhaustedWithRetryAfter()
    {
        await using var edge = await StartEdgeAsync(
            "--RateLimits:Default:Rate", "1000", "--RateLimits:Default:Burst", "1000",
            "--RateLimits:Models:mlp:Rate", "0.001", "--RateLimits:Models:mlp:Burst", "2");
        using var channel = GrpcChannel.ForAddress(edge.GrpcAddress!);

        await PerModelLimitRefusesAsync(new GRPCInferenceService.GRPCInferenceServiceClient(channel), Bearer(InferKey));
    }

    [Fact]
    public async Task PerModelRateLimit_Standalone_ResourceExhaustedWithRetryAfter()
    {
        await using var server = await GatewayServer.StartWithGrpcAsync(RepoPaths.TestModels,
            "--Auth:AllowAnonymous", "true",
            "--RateLimits:Default:Rate", "1000", "--RateLimits:Default:Burst", "1000",
            "--RateLimits:Models:mlp:Rate", "0.001", "--RateLimits:Models:mlp:Burst", "2");
        using var channel = GrpcChannel.ForAddress(server.GrpcAddress!);

        await PerModelLimitRefusesAsync(new GRPCInferenceService.GRPCInferenceServiceClient(channel), []);
    }

    [Fact]
    public async Task ModelNamedTwice_PastThePrefix_InvalidArgumentStandaloneAndThroughTheEdge()
    {
        await using var server = await GatewayServer.StartWithGrpcAsync(RepoPaths.TestModels, "--Auth:AllowAnonymous", "true");
        await using var edge = await StartEdgeAsync();
        using var direct = GrpcChannel.ForAddress(server.GrpcAddress!);
        using var throughEdge = GrpcChannel.ForAddress(edge.GrpcAddress!);

        foreach (var (channel, headers) in new[] { (direct, new Metadata()), (throughEdge, Bearer(InferKey)) })
        {
            // Protobuf's last occurrence wins: the message is "mlp" with a 64-float row, preceded by "fixed" and 8 KiB
            // of an unknown field, so its first bytes name another model than the server would serve.
            var mlp = Mlp().ToByteArray();
            using var request = new MemoryStream();
            using var output = new CodedOutputStream(request, leaveOpen: true);
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteString("fixed");
            output.WriteTag(99, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(new byte[8192]));
            output.Flush();
            request.Write(mlp);

            var refused = await Assert.ThrowsAsync<RpcException>(async () => await RawInferAsync(channel, request.ToArray(), headers));
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains("names its model more than once ('fixed' in its first 4096 bytes, 'mlp' last)", refused.Status.Detail, StringComparison.Ordinal);

            // The same bytes without the first name are served.
            Assert.Equal("mlp", (await RawInferAsync(channel, mlp, headers)).ModelName);
        }
    }

    private static readonly Method<byte[], ModelInferResponse> RawModelInfer = new(
        MethodType.Unary, "inference.GRPCInferenceService", "ModelInfer",
        Marshallers.Create(bytes => bytes, bytes => bytes), Marshallers.Create(m => m.ToByteArray(), ModelInferResponse.Parser.ParseFrom));

    private static async Task<ModelInferResponse> RawInferAsync(GrpcChannel channel, byte[] message, Metadata headers) =>
        await channel.CreateCallInvoker().AsyncUnaryCall(RawModelInfer, null, new CallOptions(headers), message);

    // mlp's bucket holds 2: the third mlp call is refused; another model (the default limit) still passes.
    private static async Task PerModelLimitRefusesAsync(GRPCInferenceService.GRPCInferenceServiceClient client, Metadata headers)
    {
        await client.ModelInferAsync(Mlp(), headers);
        await client.ModelInferAsync(Mlp(), headers);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(Mlp(), headers));

        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("model 'mlp'", refused.Status.Detail, StringComparison.Ordinal);
        Assert.True(int.Parse(refused.Trailers.GetValue(GrpcTests.GrpcRetryAfter)!, System.Globalization.CultureInfo.InvariantCulture) >= 1);

        // The same bucket holds for mlp's other methods; another model is under the default limit.
        Assert.Equal(StatusCode.ResourceExhausted, (await Assert.ThrowsAsync<RpcException>(async () =>
            await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "mlp" }, headers))).StatusCode);
        var fixedModel = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "fixed" }, headers);
        Assert.Equal("fixed", fixedModel.Name);
    }
}
