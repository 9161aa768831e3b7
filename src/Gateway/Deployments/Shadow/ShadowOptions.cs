namespace ServingGateway.Deployments.Shadow;

/// <summary>
/// Shadow mirroring (issue 13), bound from the configuration section <c>Deployments:Shadow</c> at start (not reloaded):
/// how much mirrored work may wait, and how much runs at once. What is mirrored, and how often, is the traffic split's
/// <see cref="ShadowMirror"/>; these bound what that costs.
/// </summary>
internal sealed class ShadowOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Deployments:Shadow";

    /// <summary>Mirrored requests that may wait for a shadow run; more are dropped and counted. Default 64; 1 to 100000.</summary>
    public int QueueCapacity { get; set; } = 64;

    /// <summary>
    /// The bytes (request plus the caller's answer) the waiting mirrored requests may hold together; an offer that would
    /// pass it is dropped and counted. Default 64 MiB; 64 KiB to 16 GiB.
    /// </summary>
    public long MaxQueuedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Shadow runs at once: each competes with callers for the model's batcher and the CPU. Default 1; 1 to 16.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>A shadow run that takes longer is abandoned and counted as an error of the shadow version. Default 30000; 100 to 600000.</summary>
    public int TimeoutMs { get; set; } = 30_000;

    /// <summary>Lists every invalid setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (QueueCapacity is < 1 or > 100_000)
        {
            yield return $"{SectionName}:QueueCapacity must be from 1 to 100000; it is {QueueCapacity}.";
        }

        if (MaxQueuedBytes is < 64 * 1024 or > 16L << 30)
        {
            yield return $"{SectionName}:MaxQueuedBytes must be from 65536 to {16L << 30}; it is {MaxQueuedBytes}.";
        }

        if (Concurrency is < 1 or > 16)
        {
            yield return $"{SectionName}:Concurrency must be from 1 to 16; it is {Concurrency}.";
        }

        if (TimeoutMs is < 100 or > 600_000)
        {
            yield return $"{SectionName}:TimeoutMs must be from 100 to 600000; it is {TimeoutMs}.";
        }
    }
}
