using ServingGateway.LoadTool.Payloads;
using ServingGateway.LoadTool.Search;
using ServingGateway.LoadTool.Thresholds;

namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// Everything <c>run</c> and <c>find-max-rate</c> are told, from a scenario file and then the
/// command line (which wins). Defaults are in the initialisers; <see cref="Switches"/> documents each.
/// </summary>
internal sealed class LoadOptions
{
    public bool Help { get; set; }

    public Uri? Url { get; set; }

    public string? ApiKey { get; set; }

    /// <summary>--protocol: REST (JSON or binary extension) or gRPC.</summary>
    public LoadProtocol Protocol { get; set; } = LoadProtocol.Http;

    /// <summary>--model: when set, the run loads this one model and ignores the scenario's models.</summary>
    public string? Model { get; set; }

    public PayloadSource Payload { get; set; } = PayloadSource.Generated;

    public bool Binary { get; set; }

    public Dictionary<string, long[]> Dims { get; } = new(StringComparer.Ordinal);

    public int Variants { get; set; } = 1;

    /// <summary>The models of a scenario file.</summary>
    public List<TargetOptions> ScenarioTargets { get; } = [];

    public LoadShape? Load { get; set; }

    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    public int MaxInFlight { get; set; } = 10_000;

    /// <summary>
    /// Most connections to the server; null = as many as requests in flight (HTTP), one (gRPC: the streams share
    /// it, and a second opens only past the server's concurrent-stream limit).
    /// </summary>
    public int? Connections { get; set; }

    public ThresholdOptions Thresholds { get; } = new();

    public string? ReportDir { get; set; }

    public bool NoProgress { get; set; }

    public double? SloP99Ms { get; set; }

    /// <summary>--expect-version: the model version whose share of the answers the report follows over time.</summary>
    public string? ExpectVersion { get; set; }

    /// <summary>--slo: the latency of one answer that counts it as goodput, ms.</summary>
    public double? SloMs { get; set; }

    public SearchCriterion Criterion { get; set; } = SearchCriterion.P99;

    public double StartRate { get; set; } = 50;

    public double MaxRate { get; set; } = 100_000;

    public TimeSpan StepDuration { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan StepWarmup { get; set; } = TimeSpan.FromSeconds(2);

    public double Precision { get; set; } = 0.05;

    public int MaxSteps { get; set; } = 20;

    /// <summary>The models to load: --model alone, or the scenario's, with command-line defaults filled in.</summary>
    public IReadOnlyList<TargetOptions> ResolveTargets()
    {
        var targets = Model is not null ? [new TargetOptions { Model = Model }] : ScenarioTargets;
        foreach (var target in targets)
        {
            target.Payload ??= Payload;
            target.Binary ??= Binary;
            target.Variants ??= Variants;
            foreach (var (name, sizes) in Dims)
            {
                target.Dims.TryAdd(name, sizes);
            }
        }

        return targets;
    }

    /// <summary>What is wrong with the options for <paramref name="command"/>; empty when nothing is.</summary>
    public List<string> Validate(CommandKind command)
    {
        var errors = new List<string>();
        if (Url is null)
        {
            errors.Add("--url is required (e.g. --url http://127.0.0.1:8000)");
        }

        if (Model is null && ScenarioTargets.Count == 0)
        {
            errors.Add("--model is required (or a --scenario file with \"models\")");
        }

        if (ScenarioTargets.Any(t => t.Model.Length == 0))
        {
            errors.Add("every model of the scenario needs \"model\"");
        }

        if (command == CommandKind.Run)
        {
            if (Load is null)
            {
                errors.Add("choose a load model: --open-rate R, --ramp FROM:TO or --closed N");
            }

            if (Duration <= TimeSpan.Zero)
            {
                errors.Add("--duration must be above 0");
            }
        }
        else
        {
            if (Criterion == SearchCriterion.P99 && SloP99Ms is null)
            {
                errors.Add("--slo-p99 MS is required");
            }

            if (Criterion == SearchCriterion.Goodput && SloMs is null)
            {
                errors.Add("--criterion goodput needs --slo MS (the latency an answer must keep)");
            }

            if (StartRate > MaxRate)
            {
                errors.Add("--start-rate is above --max-rate");
            }

            if (StepDuration <= TimeSpan.Zero)
            {
                errors.Add("--step-duration must be above 0");
            }
        }

        return errors;
    }
}
