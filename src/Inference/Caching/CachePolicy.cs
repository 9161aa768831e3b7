namespace ServingGateway.Inference.Caching;

/// <summary>A model's cache settings, from the "cache" object of its config.json.</summary>
/// <param name="Enabled">Whether predictions of the model are cached (default off, as in Triton).</param>
/// <param name="TimeToLive">How long an entry lives, in both tiers.</param>
/// <param name="Admission">When a miss is stored.</param>
internal sealed record CachePolicy(bool Enabled, TimeSpan TimeToLive, CacheAdmission Admission)
{
    /// <summary>No caching.</summary>
    public static CachePolicy Disabled { get; } = new(false, TimeSpan.FromMinutes(5), CacheAdmission.Auto);
}
