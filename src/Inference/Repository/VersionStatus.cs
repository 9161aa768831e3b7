namespace ServingGateway.Inference.Repository;

/// <summary>The state of one version of a model, as the repository index reports it.</summary>
/// <param name="Version">The version number.</param>
/// <param name="State">Ready, unavailable or loading.</param>
/// <param name="Reason">Why it is not ready; empty when it is.</param>
internal readonly record struct VersionStatus(long Version, ModelState State, string Reason);
