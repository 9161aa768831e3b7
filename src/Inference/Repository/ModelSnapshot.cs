using ServingGateway.Inference.Residency;

namespace ServingGateway.Inference.Repository;

/// <summary>An immutable view of one model's versions.</summary>
/// <param name="Ready">Versions serving, highest first: resident, or loaded on demand (<see cref="ModelResidency"/>).</param>
/// <param name="Versions">Every version considered, with its state and reason, highest first.</param>
/// <param name="ModelError">Why the whole model is unavailable (bad config.json, no version folders), or null.</param>
internal sealed record ModelSnapshot(ResidentSlot[] Ready, VersionStatus[] Versions, string? ModelError)
{
    /// <summary>A model that serves nothing, for the given reason.</summary>
    public static ModelSnapshot Unavailable(string reason) => new([], [], reason);
}
