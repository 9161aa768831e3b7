namespace ServingGateway.Deployments;

/// <summary>
/// What a rollout's analysis reads: per version of a model, the infer requests answered (and the shadow comparisons
/// made) since the model's window started. Recorded on the request path by the deployments middleware, for every
/// infer request whose answer named its version.
/// </summary>
internal interface IRolloutEvidence
{
    /// <summary>Starts a new window for every version of <paramref name="model"/>: what came before no longer counts.</summary>
    void StartWindow(string model);

    /// <summary>The readings of <paramref name="model"/> <paramref name="version"/> since its window started.</summary>
    VersionEvidence Read(string model, long version);
}

/// <summary>
/// One version's readings in a window. <paramref name="Errors"/>: answers with a 5xx status (a caller's 4xx is not the
/// version's fault). Latencies in milliseconds over the answered requests, NaN when there were none.
/// <paramref name="Compared"/>: shadow comparisons made with this version as the shadow; divergence is the relative L2
/// distance between its outputs and the serving version's on the same input (NaN when none was compared).
/// </summary>
internal sealed record VersionEvidence(
    long Requests, long Errors, double P50Ms, double P99Ms, long Compared, double MaxDivergence)
{
    /// <summary>Nothing recorded.</summary>
    public static VersionEvidence None { get; } = new(0, 0, double.NaN, double.NaN, 0, double.NaN);

    /// <summary>Errors over requests; 0 with no requests.</summary>
    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;
}
