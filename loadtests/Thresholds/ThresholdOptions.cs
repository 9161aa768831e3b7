namespace ServingGateway.LoadTool.Thresholds;

/// <summary>
/// CI gates of a run; each is off when null. <see cref="MaxErrorRate"/> is a fraction (0.01 = 1%);
/// <see cref="MinRate"/> is in successful responses per second.
/// </summary>
internal sealed class ThresholdOptions
{
    public double? MaxP99Ms { get; set; }

    public double? MaxErrorRate { get; set; }

    public double? MinRate { get; set; }
}
