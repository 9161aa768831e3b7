namespace ServingGateway.Observability;

/// <summary>The one loop that fills <see cref="StatusHistory"/>: a sample at start, then one every <see cref="StatusHistory.SamplePeriod"/> (the injected <see cref="TimeProvider"/>'s).</summary>
internal sealed partial class StatusSampler(StatusHistory history, TimeProvider time, ILogger<StatusSampler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(StatusHistory.SamplePeriod, time);
        do
        {
            try
            {
                history.Sample();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failed reading costs one point of the charts, never the loop.
                Log.SampleFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private static partial class Log
    {
        [LoggerMessage(150, LogLevel.Warning, "The status page could not sample the node's counters; the charts miss this point")]
        public static partial void SampleFailed(ILogger logger, Exception exception);
    }
}
