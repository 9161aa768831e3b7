namespace ServingGateway.Inference;

/// <summary>One version folder of a model on disk, as <see cref="VersionCatalog.List"/> reads it.</summary>
/// <param name="Version">The version number (its folder).</param>
/// <param name="Digest">Its digest ("sha256:..."), the one the repository computes; null when its files cannot be read.</param>
/// <param name="State">READY, LOADING or UNAVAILABLE as the repository index reports it; NOT_LOADED for a version the repository has not considered (not selected by the model's version_policy, or stored since the model's last load).</param>
/// <param name="Reason">Why it is not ready; empty when it is.</param>
/// <param name="Resident">Whether it holds its sessions now.</param>
public sealed record CatalogedVersion(long Version, string? Digest, string State, string Reason, bool Resident);
