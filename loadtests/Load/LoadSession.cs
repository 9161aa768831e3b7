using System.Net;
using System.Net.Http.Headers;
using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Payloads;
using ServingGateway.LoadTool.Progress;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// The client (an HTTP client, or the gRPC channels of <c>--protocol grpc</c>), the targets and their payloads of
/// one tool invocation, checked once (every model answers its first request with success), then used for one
/// run or for the steps of <c>find-max-rate</c>. Owns the client.
/// </summary>
internal sealed class LoadSession : IDisposable
{
    private readonly IReadOnlyList<IDisposable> _clients;
    private readonly LoadTarget[] _targets;
    private readonly IRequestSender _sender;
    private readonly TimeProvider _timeProvider;
    private readonly int _maxInFlight;
    private readonly TimeSpan? _slo;

    private LoadSession(IReadOnlyList<IDisposable> clients, IRequestSender sender, LoadTarget[] targets, TimeProvider timeProvider, int maxInFlight, TimeSpan? slo)
    {
        _slo = slo;
        _clients = clients;
        _sender = sender;
        _targets = targets;
        _timeProvider = timeProvider;
        _maxInFlight = maxInFlight;
    }

    public IReadOnlyList<LoadTarget> Targets => _targets;

    /// <summary>
    /// Builds the targets and sends each one request; throws <see cref="LoadToolException"/> when
    /// the server cannot be reached or refuses a payload, before any load is generated.
    /// </summary>
    public static async Task<LoadSession> CreateAsync(LoadOptions options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        IReadOnlyList<IDisposable> clients = [];
        try
        {
            var targets = new List<LoadTarget>();
            IRequestSender sender;
            var checks = 0;
            if (options.Protocol == LoadProtocol.Grpc)
            {
                var channels = GrpcRequestSender.CreateChannels(options);
                clients = channels;
                var headers = GrpcRequestSender.Headers(options);
                var metadataClient = new OpenInferenceProtocol.GRPCInferenceService.GRPCInferenceServiceClient(channels[0]);
                foreach (var target in options.ResolveTargets())
                {
                    targets.Add(await PayloadFactory.CreateGrpcAsync(metadataClient, options.Url!, headers, options.Timeout, target, cancellationToken).ConfigureAwait(false));
                }

                sender = new GrpcRequestSender(channels, [.. targets], Selector(targets), headers, options.Timeout);

                // A check on every channel too (the sender takes them in turn), one at a time: each has its connection
                // before the clients start at once, since concurrent first calls on a fresh channel can open two.
                checks = channels.Length;
            }
            else
            {
                var client = CreateClient(options);
                clients = [client];
                var baseUrl = PayloadFactory.BaseUrl(options.Url!);
                foreach (var target in options.ResolveTargets())
                {
                    targets.Add(await PayloadFactory.CreateAsync(client, baseUrl, target, cancellationToken).ConfigureAwait(false));
                }

                sender = new RequestSender(client, [.. targets], Selector(targets));
            }

            for (var check = 0; check < Math.Max(targets.Count, checks); check++)
            {
                var i = check % targets.Count;
                var outcome = await sender.SendToAsync(i, cancellationToken).ConfigureAwait(false);
                if (!outcome.IsSuccess && !outcome.Aborted)
                {
                    throw new LoadToolException(outcome.HasResponse
                        ? $"model '{targets[i].Model}': the first request was answered {outcome.StatusCode}: {outcome.Error}"
                        : $"model '{targets[i].Model}': the first request failed: {outcome.Error} ({targets[i].InferUri})");
                }
            }

            return new LoadSession(clients, sender, [.. targets], timeProvider, options.MaxInFlight,
                options.SloMs is { } sloMs ? TimeSpan.FromMilliseconds(sloMs) : null);
        }
        catch
        {
            Dispose(clients);
            throw;
        }

        static TargetSelector Selector(List<LoadTarget> targets) => new([.. targets.Select(t => t.Weight)]);
    }

    /// <summary>
    /// One run: warm-up, then <paramref name="duration"/> measured. With <paramref name="progress"/>
    /// the run is shown live. Cancelling stops it early; the summary covers what was measured.
    /// </summary>
    public async Task<RunSummary> RunAsync(LoadShape shape, TimeSpan duration, TimeSpan warmup, LiveProgress? progress, CancellationToken cancellationToken)
    {
        var start = _timeProvider.GetTimestamp();
        var measureStart = start + (long)(warmup.TotalSeconds * _timeProvider.TimestampFrequency);
        var recorder = new LatencyRecorder(_timeProvider, measureStart, duration, [.. _targets.Select(t => t.Model)], _slo);
        Task run;
        Func<int> inFlight;
        Task<OpenLoopStats>? open = null;
        if (shape.IsOpen)
        {
            var schedule = ArrivalSchedule.Ramp(shape.From, shape.To, duration).WithWarmup(shape.From, warmup);
            var runner = new OpenLoopRunner(schedule, _timeProvider, _maxInFlight, _sender.SendAsync, recorder, measureStart);
            open = runner.RunAsync(start, cancellationToken);
            run = open;
            inFlight = () => runner.InFlight;
        }
        else
        {
            var runner = new ClosedLoopRunner(shape.Clients, warmup + duration, _timeProvider, _sender.SendAsync, recorder);
            run = runner.RunAsync(start, cancellationToken);
            inFlight = () => runner.InFlight;
        }

        if (progress is not null)
        {
            await progress.ShowAsync(run, () => recorder.GetProgress(_timeProvider.GetTimestamp()) with { InFlight = inFlight() }, shape.ToString(), duration)
                .ConfigureAwait(false);
        }

        await run.ConfigureAwait(false);
        var summary = recorder.Summarize(_timeProvider.GetTimestamp(), cancellationToken.IsCancellationRequested);
        return summary with { Description = shape.ToString(), OpenLoop = open is null ? null : await open.ConfigureAwait(false) };
    }

    public void Dispose() => Dispose(_clients);

    private static void Dispose(IReadOnlyList<IDisposable> clients)
    {
        foreach (var client in clients)
        {
            client.Dispose();
        }
    }

    /// <summary>
    /// The REST client for load: HTTP/1.1: no proxy, cookies, redirects or decompression; as many pooled
    /// keep-alive connections as requests in flight unless <c>--connections</c> caps them.
    /// </summary>
    internal static HttpClient CreateClient(LoadOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = options.Connections ?? int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = options.Timeout,
        };
        var client = new HttpClient(handler) { Timeout = options.Timeout };
        client.DefaultRequestHeaders.ExpectContinue = false;
        if (options.ApiKey is { } key)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }
}
