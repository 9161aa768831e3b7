namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Runs a mirrored request on its shadow version, as <c>POST /v2/models/{model}/versions/{version}/infer</c>:
/// in process on a standalone server (<see cref="InProcessShadowRunner"/>); an edge would send it to a node.
/// Never through the edge pipeline: a shadow request is no caller's, so it is not authenticated, rate limited,
/// split or counted as the caller's request.
/// </summary>
internal interface IShadowRunner
{
    /// <summary>
    /// The shadow version's answer to <paramref name="request"/>: an error answer is returned with its status, not thrown.
    /// Cancelled by <paramref name="cancellationToken"/> (the shadow's timeout, or shutdown).
    /// </summary>
    Task<ShadowAnswer> RunAsync(ShadowRequest request, CancellationToken cancellationToken);
}
