namespace ServingGateway.Inference.Repository;

/// <summary>One row of Triton's repository index: a model version (or a whole model) and its state.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="Version">The version, or null for a row about the whole model.</param>
/// <param name="State">READY, UNAVAILABLE or LOADING.</param>
/// <param name="Reason">Why it is not ready; empty when it is.</param>
/// <param name="Resident">Whether the version holds its sessions now (a READY one that is not loads on its next request); null for a row about the whole model.</param>
internal readonly record struct RepositoryIndexEntry(string Name, string? Version, string State, string Reason, bool? Resident);
