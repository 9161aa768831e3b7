namespace ServingGateway.Deployments.Versions;

/// <summary>A version stored by <see cref="VersionStore"/>: <paramref name="Created"/> is false when the same bytes were already stored.</summary>
internal sealed record StoredVersion(string Model, string Version, string Digest, bool Created);
