namespace ServingGateway.Deployments.Fleet;

/// <summary>A version folder to copy from node <paramref name="Source"/> to node <paramref name="Target"/> (URLs), which lacks it.</summary>
internal sealed record VersionCopy(string Model, long Version, string Digest, string Source, string Target);
