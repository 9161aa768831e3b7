using System.Text.Json;

namespace ServingGateway.Inference.Repository;

/// <summary>
/// Reads <c>models/&lt;name&gt;/config.json</c>. Unknown keys and bad values are errors, all listed at once,
/// so a typo fails the model's load with a clear reason instead of being ignored.
/// </summary>
/// <remarks>
/// Keys: max_batch_size (0..1024), instances (1..64), execution_provider (auto | cpu | cuda),
/// device_id (>= 0), intra_op_threads and inter_op_threads (0..1024, 0 = ONNX Runtime chooses),
/// version_policy ({"latest": {"num_versions": N}} | {"all": {}} | {"specific": {"versions": [..]}}).
/// </remarks>
internal static class ModelConfigReader
{
    /// <summary>The file name looked for in each model folder.</summary>
    public const string FileName = "config.json";

    /// <summary>Reads the model folder's config.json (if any) over <paramref name="defaults"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not valid; the message lists every problem.</exception>
    public static ModelConfig Read(string modelDirectory, InferenceOptions defaults)
    {
        var path = Path.Combine(modelDirectory, FileName);
        if (!File.Exists(path))
        {
            return new ModelConfig
            {
                Instances = defaults.DefaultInstances,
                ExecutionProvider = defaults.DefaultExecutionProvider,
                IntraOpThreads = defaults.DefaultIntraOpThreads,
                InterOpThreads = 1,
            };
        }

        return Parse(File.ReadAllBytes(path), defaults);
    }

    /// <summary>Parses config.json text over <paramref name="defaults"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not valid; the message lists every problem.</exception>
    public static ModelConfig Parse(ReadOnlySpan<byte> utf8Json, InferenceOptions defaults)
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

            int? maxBatchSize = null;
            var instances = defaults.DefaultInstances;
            var provider = defaults.DefaultExecutionProvider;
            var deviceId = 0;
            var intraOp = defaults.DefaultIntraOpThreads;
            var interOp = 1;
            var policy = VersionPolicy.Default;
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
                        provider = ReadProvider(property, errors) ?? provider;
                        break;
                    case "device_id":
                        deviceId = ReadInt(property, 0, 1024, errors) ?? deviceId;
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
                    default:
                        errors.Add($"unknown key \"{property.Name}\"");
                        break;
                }
            }

            if (errors.Count > 0)
            {
                throw new InvalidDataException($"{FileName}: {string.Join("; ", errors)}");
            }

            return new ModelConfig
            {
                MaxBatchSize = maxBatchSize,
                Instances = instances,
                ExecutionProvider = provider,
                DeviceId = deviceId,
                IntraOpThreads = intraOp,
                InterOpThreads = interOp,
                VersionPolicy = policy,
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

    private static ExecutionProviderKind? ReadProvider(JsonProperty property, List<string> errors)
    {
        switch (property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null)
        {
            case "auto":
                return ExecutionProviderKind.Auto;
            case "cpu":
                return ExecutionProviderKind.Cpu;
            case "cuda":
                return ExecutionProviderKind.Cuda;
            default:
                errors.Add("\"execution_provider\" must be \"auto\", \"cpu\" or \"cuda\"");
                return null;
        }
    }

    private static VersionPolicy? ReadPolicy(JsonElement value, List<string> errors)
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
