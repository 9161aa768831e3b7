namespace ServingGateway.LoadTool.Results;

/// <summary>
/// A look at a run in progress. <see cref="Elapsed"/> is negative during warm-up;
/// <see cref="P99Ms"/> is over the measured part so far; <see cref="LastSecond"/> is the last
/// complete second (null before the first); <see cref="InFlight"/> is filled in by the runner.
/// </summary>
internal sealed record ProgressSnapshot(TimeSpan Elapsed, long Warmup, long Finished, long Errors, double P99Ms, TimelineSecond? LastSecond)
{
    public int InFlight { get; init; }
}
