namespace ServingGateway.Inference;

/// <summary>One model folder of the repository, as <see cref="VersionCatalog.List"/> reads it.</summary>
/// <param name="Name">The model's name (its folder).</param>
/// <param name="Reason">Why the whole model serves nothing (a bad config, no version folder, not loaded yet); empty when it loaded.</param>
/// <param name="Versions">Every version folder on disk, lowest first.</param>
public sealed record CatalogedModel(string Name, string Reason, IReadOnlyList<CatalogedVersion> Versions);
