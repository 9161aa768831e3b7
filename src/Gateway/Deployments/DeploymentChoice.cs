namespace ServingGateway.Deployments;

/// <summary>
/// The version the deployments middleware chose for an infer request that named none (by the split or the
/// <c>X-Model-Version</c> pin), kept on the request so that an edge forwards it to that version's path.
/// </summary>
internal sealed record DeploymentChoice(string Model, string Version)
{
    /// <summary>The node path that reaches the chosen version.</summary>
    public string VersionedPath => $"/v2/models/{Uri.EscapeDataString(Model)}/versions/{Version}/infer";
}
