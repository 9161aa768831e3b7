namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// The result of comparing a shadow's answer with the caller's: the divergence (relative L2, 0 when equal), and when
/// the two could not be compared element by element, the reason (<see cref="OutputDivergence"/>'s constants) with a
/// divergence of +infinity.
/// </summary>
internal readonly record struct ShadowComparison(double Divergence, string? Mismatch = null)
{
    /// <summary>Not comparable for <paramref name="reason"/>: divergence +infinity.</summary>
    public static ShadowComparison Mismatched(string reason) => new(double.PositiveInfinity, reason);
}
