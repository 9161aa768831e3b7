using System.Text.Json;
using ServingGateway.Batching;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Drift;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Reads a model's settings: <c>models/&lt;name&gt;/config.json</c> over Triton's <c>config.pbtxt</c>
/// (<see cref="TritonConfigReader"/>) over the node's defaults. In config.json, unknown keys and bad values are
/// errors, all listed at once, so a typo fails the model's load with a clear reason instead of being ignored.
/// </summary>
/// <remarks>
/// Keys: max_batch_size (0..1024), instances (1..64), execution_provider (auto | cpu | cuda),
/// device_id (>= 0), intra_op_threads and inter_op_threads (0..1024, 0 = ONNX Runtime chooses),
/// version_policy ({"latest": {"num_versions": N}} | {"all": {}} | {"specific": {"versions": [..]}});
/// batching: batching (adaptive | fixed | off), latency_slo_ms (0 &lt; x &lt;= 60000), max_queue_delay_ms
/// (0..10000), preferred_batch_sizes ([1..1024, ...]), max_queue_rows (1..1048576), max_queue_mb (1..1048576), priority_levels (1..16),
/// default_priority_level (1..priority_levels); cache: {"enable": bool, "ttl_seconds" (1..604800, default 300),
/// "admission": "auto" | "always" | "second-hit"}; overload: {"policy": "queue" | "deadline" | "codel",
/// "slo_factor" (1..100, default 2), "codel_target_ms" and "codel_interval_ms" (1..60000, default 25 and 100)};
/// drift: {"enable": bool, "sample_ratio" (0 &lt; x &lt;= 1, default 0.1), "window" (100..1000000, default 1000),
/// "threshold" (0 &lt; x &lt;= 10, default 0.1)}.
/// </remarks>
internal static class ModelConfigReader
{
    /// <summary>The file name looked for in each model folder.</summary>
    public const string FileName = "config.json";

    /// <summary>
    /// Reads the model folder's settings: its config.json (if any) over its Triton config.pbtxt (if any) over
    /// <paramref name="defaults"/>, so config.json's keys win where both set one.
    /// </summary>
    /// <param name="modelDirectory">The model's folder.</param>
    /// <param name="defaults">The node's defaults.</param>
    /// <param name="ignoredField">Called with each config.pbtxt field this server does not use (dotted path, line, column).</param>
    /// <exception cref="InvalidDataException">A file is not valid; the message names it and lists every problem.</exception>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static ModelConfig Read(string modelDirectory, InferenceOptions defaults, Action<string, int, int>? ignoredField = null)
    {
        var config = Baseline(defaults);
        var source = "";
        var pbtxtPath = Path.Combine(modelDirectory, TritonConfigReader.FileName);
        if (File.Exists(pbtxtPath))
        {
            var text = File.ReadAllText(pbtxtPath);
            source = TritonConfigReader.FileName + "\n" + text;
            config = TritonConfigReader.Parse(text, Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDirectory)), config, ignoredField);
        }

        var jsonPath = Path.Combine(modelDirectory, FileName);
        if (File.Exists(jsonPath))
        {
            var bytes = File.ReadAllBytes(jsonPath);
            source += FileName + "\n" + System.Text.Encoding.UTF8.GetString(bytes);
            config = Parse(bytes, config);
        }

        return config with { SourceText = source };
    }

    /// <summary>The settings of a model without config files: the node's defaults.</summary>
    public static ModelConfig Baseline(InferenceOptions defaults) => new()
    {
        Instances = defaults.DefaultInstances,
        ExecutionProvider = defaults.DefaultExecutionProvider,
        IntraOpThreads = defaults.DefaultIntraOpThreads,
        InterOpThreads = 1,
        DefaultPriorityLevel = 1,
    };

    /// <summary>Parses config.json text over <paramref name="defaults"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not valid; the message lists every problem.</exception>
    public static ModelConfig Parse(ReadOnlySpan<byte> utf8Json, InferenceOptions defaults) => Parse(utf8Json, Baseline(defaults));

    /// <summary>Parses config.json text over <paramref name="baseline"/> (the defaults, or what config.pbtxt set).</summary>
    /// <exception cref="InvalidDataException">The text is not valid; the message lists every problem.</exception>
    public static ModelConfig Parse(ReadOnlySpan<byte> utf8Json, ModelConfig baseline)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{FileName} is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            var errors = new List<string>();
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{FileName} must hold a JSON object");
            }

            var maxBatchSize = baseline.MaxBatchSize;
            var instances = baseline.Instances;
            var provider = baseline.ExecutionProvider;
            var deviceId = baseline.DeviceId;
            var gpus = baseline.Gpus;
            var intraOp = baseline.IntraOpThreads;
            var interOp = baseline.InterOpThreads;
            var policy = baseline.VersionPolicy;
            var batching = baseline.Batching;
            var slo = baseline.LatencySloMs;
            var sloSet = baseline.LatencySloSet;
            var maxDelay = baseline.MaxQueueDelayMs;
            var preferred = baseline.PreferredBatchSizes;
            var maxQueueRows = baseline.MaxQueueRows;
            int? maxQueueRowsSet = null;
            var maxQueueMb = baseline.MaxQueueMb;
            var priorityLevels = baseline.PriorityLevels;
            int? priorityLevelsSet = null;
            int? defaultPriority = null;
            var cache = baseline.Cache;
            var overload = baseline.Overload;
            var drift = baseline.Drift;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "max_batch_size":
                        maxBatchSize = ReadInt(property, 0, 1024, errors);
                        break;
                    case "instances":
                        instances = ReadInt(property, 1, 64, errors) ?? instances;
                        break;
                    case "execution_provider":
                        provider = ReadChoice(property, [("auto", ExecutionProviderKind.Auto), ("cpu", ExecutionProviderKind.Cpu), ("cuda", ExecutionProviderKind.Cuda)], errors) ?? provider;
                        break;
                    case "device_id":
                        deviceId = ReadInt(property, 0, 1024, errors) ?? deviceId;
                        gpus = []; // one device for every instance
                        break;
                    case "intra_op_threads":
                        intraOp = ReadInt(property, 0, 1024, errors) ?? intraOp;
                        break;
                    case "inter_op_threads":
                        interOp = ReadInt(property, 0, 1024, errors) ?? interOp;
                        break;
                    case "version_policy":
                        policy = ReadPolicy(property.Value, errors) ?? policy;
                        break;
                    case "batching":
                        batching = ReadChoice(property, [("adaptive", BatchingMode.Adaptive), ("fixed", BatchingMode.Fixed), ("off", BatchingMode.Off)], errors) ?? batching;
                        break;
                    case "latency_slo_ms":
                        slo = ReadMilliseconds(property, 60_000, allowZero: false, errors) ?? slo;
                        sloSet = true;
                        break;
                    case "max_queue_delay_ms":
                        maxDelay = ReadMilliseconds(property, 10_000, allowZero: true, errors) ?? maxDelay;
                        break;
                    case "preferred_batch_sizes":
                        preferred = ReadSizes(property, errors) ?? preferred;
                        break;
                    case "max_queue_rows":
                        maxQueueRowsSet = ReadInt(property, 1, 1_048_576, errors);
                        maxQueueRows = maxQueueRowsSet ?? maxQueueRows;
                        break;
                    case "max_queue_mb":
                        maxQueueMb = ReadInt(property, 1, 1_048_576, errors) ?? maxQueueMb;
                        break;
                    case "priority_levels":
                        priorityLevelsSet = ReadInt(property, 1, 16, errors);
                        priorityLevels = priorityLevelsSet ?? priorityLevels;
                        break;
                    case "default_priority_level":
                        defaultPriority = ReadInt(property, 1, 16, errors);
                        break;
                    case "cache":
                        cache = ReadCache(property.Value, cache, errors) ?? cache;
                        break;
                    case "overload":
                        overload = ReadOverload(property.Value, overload, errors) ?? overload;
                        break;
                    case "drift":
                        drift = ReadDrift(property.Value, drift, errors) ?? drift;
                        break;
                    default:
                        errors.Add($"unknown key \"{property.Name}\"");
                        break;
                }
            }

            // default_priority_level defaults to the last level: the one config.pbtxt gave when it set the levels.
            var defaultLevel = defaultPriority ?? (priorityLevelsSet is null ? Math.Min(baseline.DefaultPriorityLevel, priorityLevels) : priorityLevels);
            if (defaultPriority > priorityLevels)
            {
                errors.Add($"\"default_priority_level\" ({defaultPriority}) must not exceed \"priority_levels\" ({priorityLevels})");
            }

            if (maxQueueRowsSet is not null && maxBatchSize is { } mbs && maxQueueRows < mbs)
            {
                errors.Add($"\"max_queue_rows\" ({maxQueueRows}) must be at least \"max_batch_size\" ({mbs})");
            }

            if (maxBatchSize is { } limit && preferred.Any(p => p > Math.Max(limit, 1)))
            {
                errors.Add($"\"preferred_batch_sizes\" must not exceed \"max_batch_size\" ({limit})");
            }

            if (errors.Count > 0)
            {
                throw new InvalidDataException($"{FileName}: {string.Join("; ", errors)}");
            }

            return baseline with
            {
                MaxBatchSize = maxBatchSize,
                Instances = instances,
                ExecutionProvider = provider,
                DeviceId = deviceId,
                Gpus = gpus,
                IntraOpThreads = intraOp,
                InterOpThreads = interOp,
                VersionPolicy = policy,
                Batching = batching,
                LatencySloMs = slo,
                LatencySloSet = sloSet,
                MaxQueueDelayMs = maxDelay,
                PreferredBatchSizes = preferred,
                MaxQueueRows = maxQueueRows,
                MaxQueueMb = maxQueueMb,
                PriorityLevels = priorityLevels,
                DefaultPriorityLevel = defaultLevel,
                Cache = cache,
                Overload = overload,
                Drift = drift,
            };
        }
    }

    private static int? ReadInt(JsonProperty property, int min, int max, List<string> errors)
    {
        if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors.Add($"\"{property.Name}\" must be an integer from {min} to {max}");
        return null;
    }

    private static double? ReadMilliseconds(JsonProperty property, double max, bool allowZero, List<string> errors)
    {
        if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var value)
            && (allowZero ? value >= 0 : value > 0) && value <= max)
        {
            return value;
        }

        errors.Add($"\"{property.Name}\" must be a number of milliseconds, {(allowZero ? "from 0" : "above 0")} to {max}");
        return null;
    }

    private static int[]? ReadSizes(JsonProperty property, List<string> errors)
    {
        if (property.Value.ValueKind == JsonValueKind.Array
            && property.Value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) && n is >= 1 and <= 1024))
        {
            return [.. property.Value.EnumerateArray().Select(v => v.GetInt32()).Distinct().Order()];
        }

        errors.Add($"\"{property.Name}\" must be an array of integers from 1 to 1024");
        return null;
    }

    private static CachePolicy? ReadCache(JsonElement value, CachePolicy baseline, List<string> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("\"cache\" must be an object: {\"enable\": true, \"ttl_seconds\": 300, \"admission\": \"auto\"}");
            return null;
        }

        // Over config.pbtxt's response_cache: "enable" keeps its value unless given here.
        var enabled = baseline.Enabled;
        var ttl = (int)baseline.TimeToLive.TotalSeconds;
        var admission = baseline.Admission;
        var count = errors.Count;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "enable" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    enabled = property.Value.GetBoolean();
                    break;
                case "enable":
                    errors.Add("\"cache\": \"enable\" must be true or false");
                    break;
                case "ttl_seconds":
                    ttl = ReadInt(property, 1, 604_800, errors) ?? ttl;
                    break;
                case "admission":
                    admission = ReadChoice(property, [("auto", CacheAdmission.Auto), ("always", CacheAdmission.Always), ("second-hit", CacheAdmission.SecondHit)], errors) ?? admission;
                    break;
                default:
                    errors.Add($"\"cache\": unknown key \"{property.Name}\"");
                    break;
            }
        }

        return errors.Count == count ? new CachePolicy(enabled, TimeSpan.FromSeconds(ttl), admission) : null;
    }

    private static OverloadSettings? ReadOverload(JsonElement value, OverloadSettings baseline, List<string> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("\"overload\" must be an object: {\"policy\": \"deadline\", \"slo_factor\": 2}");
            return null;
        }

        var settings = baseline;
        var count = errors.Count;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "policy":
                    settings = settings with
                    {
                        Policy = ReadChoice(property, [("queue", OverloadPolicy.Queue), ("deadline", OverloadPolicy.Deadline), ("codel", OverloadPolicy.CoDel)], errors) ?? settings.Policy,
                    };
                    break;
                case "slo_factor" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var factor) && factor is >= 1 and <= 100:
                    settings = settings with { SloFactor = factor };
                    break;
                case "slo_factor":
                    errors.Add("\"overload\": \"slo_factor\" must be a number from 1 to 100");
                    break;
                case "codel_target_ms":
                    settings = settings with { CoDelTargetMs = ReadMilliseconds(property, 60_000, allowZero: false, errors) is { } target ? Math.Max(1, target) : settings.CoDelTargetMs };
                    break;
                case "codel_interval_ms":
                    settings = settings with { CoDelIntervalMs = ReadMilliseconds(property, 60_000, allowZero: false, errors) is { } interval ? Math.Max(1, interval) : settings.CoDelIntervalMs };
                    break;
                default:
                    errors.Add($"\"overload\": unknown key \"{property.Name}\"");
                    break;
            }
        }

        return errors.Count == count ? settings : null;
    }

    private static DriftSettings? ReadDrift(JsonElement value, DriftSettings baseline, List<string> errors)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add("\"drift\" must be an object: {\"enable\": true, \"sample_ratio\": 0.1, \"window\": 1000, \"threshold\": 0.1}");
            return null;
        }

        var settings = baseline;
        var count = errors.Count;
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case "enable" when property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    settings = settings with { Enabled = property.Value.GetBoolean() };
                    break;
                case "enable":
                    errors.Add("\"drift\": \"enable\" must be true or false");
                    break;
                case "sample_ratio" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var ratio) && ratio is > 0 and <= 1:
                    settings = settings with { SampleRatio = ratio };
                    break;
                case "sample_ratio":
                    errors.Add("\"drift\": \"sample_ratio\" must be a number above 0, at most 1");
                    break;
                case "window" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var window) && window is >= DriftSettings.MinWindow and <= DriftSettings.MaxWindow:
                    settings = settings with { Window = window };
                    break;
                case "window":
                    errors.Add($"\"drift\": \"window\" must be an integer from {DriftSettings.MinWindow} to {DriftSettings.MaxWindow}");
                    break;
                case "threshold" when property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var threshold) && threshold is > 0 and <= 10:
                    settings = settings with { Threshold = threshold };
                    break;
                case "threshold":
                    errors.Add("\"drift\": \"threshold\" must be a number above 0, at most 10");
                    break;
                default:
                    errors.Add($"\"drift\": unknown key \"{property.Name}\"");
                    break;
            }
        }

        return errors.Count == count ? settings : null;
    }

    // One of a fixed set of strings, e.g. "auto" | "cpu" | "cuda".
    private static T? ReadChoice<T>(JsonProperty property, (string Name, T Value)[] choices, List<string> errors)
        where T : struct
    {
        var text = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
        foreach (var (name, value) in choices)
        {
            if (text == name)
            {
                return value;
            }
        }

        errors.Add($"\"{property.Name}\" must be {string.Join(", ", choices[..^1].Select(c => $"\"{c.Name}\""))} or \"{choices[^1].Name}\"");
        return null;
    }

    internal static VersionPolicy? ReadPolicy(JsonElement value, List<string> errors)
    {
        const string Expected = "\"version_policy\" must be {\"latest\": {\"num_versions\": N}}, {\"all\": {}} or {\"specific\": {\"versions\": [...]}}";
        if (value.ValueKind != JsonValueKind.Object || value.EnumerateObject().Count() != 1)
        {
            errors.Add(Expected);
            return null;
        }

        var kind = value.EnumerateObject().First();
        switch (kind.Name)
        {
            case "all" when kind.Value.ValueKind == JsonValueKind.Object:
                return VersionPolicy.All;
            case "latest" when kind.Value.ValueKind == JsonValueKind.Object:
                if (kind.Value.TryGetProperty("num_versions", out var n) && n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var count) && count >= 1)
                {
                    return VersionPolicy.LatestN(count);
                }

                errors.Add("\"version_policy\": \"latest\" needs \"num_versions\", an integer of at least 1");
                return null;
            case "specific" when kind.Value.ValueKind == JsonValueKind.Object:
                if (kind.Value.TryGetProperty("versions", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0
                    && list.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var x) && x >= 0))
                {
                    return VersionPolicy.Of([.. list.EnumerateArray().Select(v => v.GetInt64())]);
                }

                errors.Add("\"version_policy\": \"specific\" needs \"versions\", a non-empty array of non-negative integers");
                return null;
            default:
                errors.Add(Expected);
                return null;
        }
    }
}
