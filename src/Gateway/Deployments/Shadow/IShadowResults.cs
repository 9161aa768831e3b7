namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Where shadow comparisons are reported for a rollout's analysis (the deployments' evidence recorder implements it:
/// <see cref="VersionEvidence.Compared"/>, <see cref="VersionEvidence.MaxDivergence"/>, <see cref="VersionEvidence.Errors"/>).
/// Called from the shadow's background loop, never on a caller's request path; concurrently when
/// <see cref="ShadowOptions.Concurrency"/> is above 1.
/// </summary>
internal interface IShadowResults
{
    /// <summary>
    /// One comparison of shadow <paramref name="version"/> of <paramref name="model"/> with the caller's answer:
    /// <paramref name="divergence"/> is the relative L2 distance (<see cref="OutputDivergence"/>), +infinity when the
    /// outputs could not be compared (names, datatypes or shapes differ); <paramref name="milliseconds"/> the shadow
    /// run's time, from its start on the shadow version to its answer (not its wait in the queue).
    /// </summary>
    void RecordShadow(string model, long version, double milliseconds, double divergence);

    /// <summary>
    /// One request on which shadow <paramref name="version"/> failed (an error status, a timeout, an exception) while
    /// the caller's answer was 200; <paramref name="milliseconds"/> as in <see cref="RecordShadow"/> (the timeout when it timed out).
    /// </summary>
    void RecordShadowError(string model, long version, double milliseconds);
}
