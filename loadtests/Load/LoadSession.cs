using System.Net;
using System.Net.Http.Headers;
using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Payloads;
using ServingGateway.LoadTool.Progress;
using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// The HTTP client, the targets and their payloads of one tool invocation, checked once (every
/// model answers its first request with 2xx), then used for one run or for the steps of
/// <c>find-max-rate</c>. Owns the client.
/// </summary>
internal sealed class LoadSession : IDisposable
{
    private readonly HttpClient _client;
    private readonly LoadTarget[] _targets;
    private readonly RequestSender _sender;
    private readonly TimeProvider _timeProvider;
    private readonly int _maxInFlight;
    private readonly TimeSpan? _slo;

    private LoadSession(HttpClient client, LoadTarget[] targets, TimeProvider timeProvider, int maxInFlight, TimeSpan? slo)
    {
        _slo = slo;
        _client = client;
        _targets = targets;
        _timeProvider = timeProvider;
        _maxInFlight = maxInFlight;
        _sender = new RequestSender(client, targets, new TargetSelector([.. targets.Select(t => t.Weight)]));
    }

    public IReadOnlyList<LoadTarget> Targets => _targets;

    /// <summary>
    /// Builds the targets and sends each one request; throws <see cref="LoadToolException"/> when
    /// the server cannot be reached or refuses a payload, before any load is generated.
    /// </summary>
    public static async Task<LoadSession> CreateAsync(LoadOptions options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var client = CreateClient(options);
        try
        {
            var baseUrl = PayloadFactory.BaseUrl(options.Url!);
            var targets = new List<LoadTarget>();
            foreach (var target in options.ResolveTargets())
            {
                targets.Add(await PayloadFactory.CreateAsync(client, baseUrl, target, cancellationToken).ConfigureAwait(false));
            }

            var session = new LoadSession(client, [.. targets], timeProvider, options.MaxInFlight,
                options.SloMs is { } sloMs ? TimeSpan.FromMilliseconds(sloMs) : null);
            for (var i = 0; i < targets.Count; i++)
            {
                var outcome = await session._sender.SendToAsync(i, cancellationToken).ConfigureAwait(false);
                if (!outcome.IsSuccess && !outcome.Aborted)
                {
                    throw new LoadToolException(outcome.HasResponse
                        ? $"model '{targets[i].Model}': the first request was answered {outcome.StatusCode}: {outcome.Error}"
                        : $"model '{targets[i].Model}': the first request failed: {outcome.Error} ({targets[i].InferUri})");
                }
            }

            return session;
        }
        catch
        {
            client.Dispose();
            throw;
        }
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

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// An HTTP/1.1 client for load: no proxy, cookies, redirects or decompression; as many pooled
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
