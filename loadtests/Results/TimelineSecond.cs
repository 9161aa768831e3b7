namespace ServingGateway.LoadTool.Results;

/// <summary>
/// One second of a run, by completion time from the start of measurement: requests finished in it
/// (responses and failures without one), errors among them (non-2xx and failures), the latency
/// percentiles of its responses in ms, and, when the run has an SLO (<c>--slo</c>), its goodput:
/// the 2xx answers within the SLO (null without one); and the p99 of its 2xx answers alone (0 when it had none),
/// which fast refusals cannot pull down; and the answers of each model version that answered in it (a rollout over time).
/// </summary>
internal sealed record TimelineSecond(int Second, long Finished, long Errors, double P50Ms, double P90Ms, double P99Ms, double MaxMs, long? WithinSlo = null, double P99SuccessMs = 0, IReadOnlyDictionary<string, long>? Versions = null)
{
    /// <summary>The answers of <paramref name="version"/> in this second.</summary>
    public long AnswersOf(string version) => Versions?.GetValueOrDefault(version) ?? 0;
}
