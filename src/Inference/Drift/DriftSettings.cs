namespace ServingGateway.Inference.Drift;

/// <summary>A model's input drift settings, from the "drift" object of its config.json (docs/CONFIGURATION.md).</summary>
/// <param name="Enabled">Whether the inputs of the model's versions are watched for drift (default off: nothing is sampled).</param>
/// <param name="SampleRatio">The share of requests whose rows are sampled, 0 &lt; x &lt;= 1 (default 0.1).</param>
/// <param name="Window">Sampled rows per window: the reference window (when no drift_reference.json) and each live window (default 1000).</param>
/// <param name="Threshold">The PSI above which a feature or input is marked drifting in the JSON (default 0.1); the metric stays a gauge.</param>
internal sealed record DriftSettings(bool Enabled, double SampleRatio, int Window, double Threshold)
{
    /// <summary>The defaults: off.</summary>
    public static DriftSettings Disabled { get; } = new(false, 0.1, 1000, 0.1);

    /// <summary>The smallest window config.json accepts: fewer rows make PSI over ten bins mostly noise.</summary>
    public const int MinWindow = 100;

    /// <summary>The largest window config.json accepts.</summary>
    public const int MaxWindow = 1_000_000;
}
