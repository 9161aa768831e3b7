using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ServingGateway.Inference.Http;

/// <summary>
/// Graceful shutdown of a node: when the host stops (SIGTERM), readiness answers 503 at once (it reads
/// ApplicationStopping), and before the HTTP server stops listening this waits for the traffic to stop:
/// until no request (health probes and /metrics aside) has arrived for <see cref="QuietPeriod"/> and none is
/// in flight, which is when the edges' health checks have taken the node out of rotation, or until
/// Inference:ShutdownDrainSeconds has passed. The server then finishes the requests it holds within what
/// is left of that time (the host's shutdown timeout), and the process exits 0.
/// </summary>
internal sealed partial class ShutdownDrain(IOptions<InferenceOptions> options, TimeProvider time, ILogger<ShutdownDrain> logger) : IHostedLifecycleService
{
    /// <summary>How long the traffic must have stopped before the server stops listening.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
    private long _lastArrival;
    private int _inFlight;

    /// <summary>Requests in flight now, probes aside.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The middleware step that records arrivals and requests in flight.</summary>
    public async Task TrackAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/v2/health", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }

        Volatile.Write(ref _lastArrival, time.GetTimestamp());
        Interlocked.Increment(ref _inFlight);
        try
        {
            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Runs after ApplicationStopping and before any hosted service, the HTTP server included, stops.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var limit = TimeSpan.FromSeconds(options.Value.ShutdownDrainSeconds);
        Log.Draining(logger, limit.TotalSeconds);
        try
        {
            while (time.GetElapsedTime(started) < limit
                && (InFlight > 0 || time.GetElapsedTime(Volatile.Read(ref _lastArrival)) < QuietPeriod))
            {
                await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout: stop now.
        }

        Log.Drained(logger, time.GetElapsedTime(started).TotalSeconds, InFlight);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(52, LogLevel.Warning, "Stopping: readiness answers 503; serving until the traffic stops, {Seconds} s at most (Inference:ShutdownDrainSeconds)")]
        public static partial void Draining(ILogger logger, double seconds);

        [LoggerMessage(53, LogLevel.Warning, "Stopping: traffic drained after {Seconds:0.0} s; the server stops listening and finishes the {InFlight} request(s) it holds")]
        public static partial void Drained(ILogger logger, double seconds, int inFlight);
    }
}
