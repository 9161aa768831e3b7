using ServingGateway.LoadTool.Payloads;

namespace ServingGateway.LoadTool.Cli;

/// <summary>Every switch of the tool; the help text and the scenario file keys come from here.</summary>
internal static class Switches
{
    public static readonly IReadOnlyList<Switch> All =
    [
        new("--url", "URL", CommandKind.Both, "the server, e.g. http://127.0.0.1:8000 (required)",
            (o, v) => o.Url = ValueParsers.Url(v)) { ScenarioKey = "url" },
        new("--protocol", "http|grpc", CommandKind.Both, "http: the REST API (JSON, or --binary; default); grpc: ModelInfer of inference.GRPCInferenceService with raw_input_contents, --url being the gRPC listener",
            (o, v) => o.Protocol = ValueParsers.Protocol(v)) { ScenarioKey = "protocol" },
        new("--model", "NAME", CommandKind.Both, "the model to load (or the models of --scenario)",
            (o, v) => o.Model = v),
        new("--payload", "SOURCE", CommandKind.Both, "generated (from the model's metadata; default), file:PATH (one OIP JSON request) or recorded:PATH (JSON Lines, or a folder of *.json)",
            (o, v) => o.Payload = PayloadSource.Parse(v)) { ScenarioKey = "payload" },
        new("--binary", null, CommandKind.Both, "send tensors with the binary tensor data extension and ask for binary outputs (REST; --protocol grpc always sends raw bytes)",
            (o, v) => o.Binary = bool.Parse(v)) { ScenarioKey = "binary" },
        new("--dim", "NAME=SIZES", CommandKind.Both, "sizes of input NAME's dynamic dimensions, in order (e.g. input_ids=1,128; NAME * = every input); repeatable; default 1",
            (o, v) => { var (name, sizes) = ValueParsers.Dim(v); o.Dims[name] = sizes; }),
        new("--variants", "N", CommandKind.Both, "generated payloads: N different requests sent in turn (default 1)",
            (o, v) => o.Variants = ValueParsers.Count(v)) { ScenarioKey = "variants" },
        new("--api-key", "KEY", CommandKind.Both, "sent as Authorization: Bearer KEY; env:NAME reads environment variable NAME",
            (o, v) => o.ApiKey = ValueParsers.ApiKey(v)) { ScenarioKey = "apiKey" },
        new("--scenario", "FILE", CommandKind.Both, "a JSON scenario: models mixed by weight, and any switch by its camelCase name; switches win",
            (_, _) => { }),
        new("--open-rate", "R", CommandKind.Run, "open loop at R requests/s; latency from each request's intended send time",
            (o, v) => o.Load = LoadShape.Open(ValueParsers.Positive(v))) { ScenarioKey = "openRate" },
        new("--ramp", "FROM:TO", CommandKind.Run, "open loop, rate going linearly from FROM to TO requests/s over --duration",
            (o, v) => { var (from, to) = ValueParsers.Ramp(v); o.Load = LoadShape.Ramp(from, to); }) { ScenarioKey = "ramp" },
        new("--closed", "N", CommandKind.Run, "closed loop: N clients, each sending when its previous answer is in",
            (o, v) => o.Load = LoadShape.Closed(ValueParsers.Count(v))) { ScenarioKey = "closed" },
        new("--duration", "TIME", CommandKind.Run, "measured time, e.g. 30s, 2m (default 30s)",
            (o, v) => o.Duration = ValueParsers.Duration(v)) { ScenarioKey = "duration" },
        new("--warmup", "TIME", CommandKind.Run, "load before measuring, not counted (default 5s; open loop: at the starting rate)",
            (o, v) => o.Warmup = ValueParsers.Duration(v)) { ScenarioKey = "warmup" },
        new("--timeout", "TIME", CommandKind.Both, "per-request timeout; a timeout is an error (default 10s)",
            (o, v) => o.Timeout = ValueParsers.Duration(v)) { ScenarioKey = "timeout" },
        new("--max-in-flight", "N", CommandKind.Both, "open loop: most requests outstanding; past it sends wait and count as late (default 10000)",
            (o, v) => o.MaxInFlight = ValueParsers.Count(v)) { ScenarioKey = "maxInFlight" },
        new("--connections", "N", CommandKind.Both, "most connections to the server (default: one per request in flight); --protocol grpc: the HTTP/2 connections the streams share (default 1)",
            (o, v) => o.Connections = ValueParsers.Count(v)) { ScenarioKey = "connections" },
        new("--max-p99-ms", "MS", CommandKind.Run, "threshold: p99 latency at most MS; missed = exit code 1",
            (o, v) => o.Thresholds.MaxP99Ms = ValueParsers.Positive(v)) { ScenarioKey = "maxP99Ms" },
        new("--max-error-rate", "F", CommandKind.Both, "threshold: errors ÷ requests at most F (0.01 or 1%); find-max-rate: a step with more fails (default there 1%)",
            (o, v) => o.Thresholds.MaxErrorRate = ValueParsers.Fraction(v)) { ScenarioKey = "maxErrorRate" },
        new("--min-rate", "R", CommandKind.Both, "threshold: at least R successful responses/s; find-max-rate: the answer at least R",
            (o, v) => o.Thresholds.MinRate = ValueParsers.NonNegative(v)) { ScenarioKey = "minRate" },
        new("--slo", "MS", CommandKind.Both, "latency objective of each answer, ms: goodput = 2xx answers within it, reported per second and in total; find-max-rate --criterion goodput judges by it",
            (o, v) => o.SloMs = ValueParsers.Positive(v)) { ScenarioKey = "slo" },
        new("--report-dir", "DIR", CommandKind.Both, "where the reports go (default loadtest-reports/<UTC time>)",
            (o, v) => o.ReportDir = v) { ScenarioKey = "reportDir" },
        new("--no-progress", null, CommandKind.Both, "no live progress",
            (o, v) => o.NoProgress = bool.Parse(v)) { ScenarioKey = "noProgress" },
        new("--slo-p99", "MS", CommandKind.FindMaxRate, "the p99 latency a rate must keep, ms (required with --criterion p99)",
            (o, v) => o.SloP99Ms = ValueParsers.Positive(v)) { ScenarioKey = "sloP99" },
        new("--criterion", "p99|goodput", CommandKind.FindMaxRate, "what a rate must keep: p99 (p99 within --slo-p99; default) or goodput (answers within --slo at least 99% of the offered rate)",
            (o, v) => o.Criterion = ValueParsers.Criterion(v)) { ScenarioKey = "criterion" },
        new("--start-rate", "R", CommandKind.FindMaxRate, "first rate tried, req/s (default 50)",
            (o, v) => o.StartRate = ValueParsers.Positive(v)) { ScenarioKey = "startRate" },
        new("--max-rate", "R", CommandKind.FindMaxRate, "highest rate tried, req/s (default 100000)",
            (o, v) => o.MaxRate = ValueParsers.Positive(v)) { ScenarioKey = "maxRate" },
        new("--step-duration", "TIME", CommandKind.FindMaxRate, "measured time of each step (default 10s)",
            (o, v) => o.StepDuration = ValueParsers.Duration(v)) { ScenarioKey = "stepDuration" },
        new("--step-warmup", "TIME", CommandKind.FindMaxRate, "warm-up of each step (default 2s)",
            (o, v) => o.StepWarmup = ValueParsers.Duration(v)) { ScenarioKey = "stepWarmup" },
        new("--precision", "F", CommandKind.FindMaxRate, "stop when the passing and failing rates are within F of each other (default 0.05)",
            (o, v) => o.Precision = ValueParsers.Fraction(v)) { ScenarioKey = "precision" },
        new("--max-steps", "N", CommandKind.FindMaxRate, "most steps (default 20)",
            (o, v) => o.MaxSteps = ValueParsers.Count(v)) { ScenarioKey = "maxSteps" },
        new("--help", null, CommandKind.Both, "this text (also -h)",
            (o, _) => o.Help = true),
    ];

    /// <summary>The switch called <paramref name="name"/> in <paramref name="command"/>, or null.</summary>
    public static Switch? Find(string name, CommandKind command) =>
        All.FirstOrDefault(s => s.Name == name && s.Commands.HasFlag(command));
}
