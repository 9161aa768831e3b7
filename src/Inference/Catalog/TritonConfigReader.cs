using System.Globalization;
using ServingGateway.Batching;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Reads Triton's <c>models/&lt;name&gt;/config.pbtxt</c> (protobuf text format) over a model's baseline settings:
/// name, platform, backend, max_batch_size, input, output, dynamic_batching, instance_group, version_policy
/// and response_cache, each mapped to the <see cref="ModelConfig"/> setting of the same meaning
/// (docs/CONFIGURATION.md has the table). Fields this server does not use are reported once through the
/// caller's callback and ignored; bad values are errors, all listed at once, each with its line and column.
/// </summary>
internal static class TritonConfigReader
{
    /// <summary>The file name looked for in each model folder.</summary>
    public const string FileName = "config.pbtxt";

    /// <summary>The platform and backend names of ONNX models in Triton, the only ones this server runs.</summary>
    public const string Platform = "onnxruntime_onnx";

    /// <inheritdoc cref="Platform"/>
    public const string Backend = "onnxruntime";

    private static readonly (string Name, ExecutionProviderKind Kind)[] Kinds =
        [("KIND_AUTO", ExecutionProviderKind.Auto), ("KIND_CPU", ExecutionProviderKind.Cpu), ("KIND_GPU", ExecutionProviderKind.Cuda)];

    private static readonly (string Name, QueueTimeoutAction Action)[] TimeoutActions =
        [("REJECT", QueueTimeoutAction.Reject), ("DELAY", QueueTimeoutAction.Delay)];

    /// <summary>Parses config.pbtxt text over <paramref name="baseline"/>.</summary>
    /// <param name="text">The file's text.</param>
    /// <param name="modelName">The model's folder name, which the file's <c>name</c> must match.</param>
    /// <param name="baseline">The settings the file's fields replace.</param>
    /// <param name="ignoredField">Called with the dotted path, line and column of each field this server does not use.</param>
    /// <exception cref="InvalidDataException">The file is malformed or a value is not valid; the message lists every problem with its line and column.</exception>
    public static ModelConfig Parse(string text, string modelName, ModelConfig baseline, Action<string, int, int>? ignoredField)
    {
        TextProtoMessage root;
        try
        {
            root = TextProtoParser.Parse(text);
        }
        catch (TextProtoException ex)
        {
            throw new InvalidDataException($"{FileName}: {ex.Message}", ex);
        }

        var reading = new Reading(ignoredField);
        var config = reading.Model(root, modelName, baseline);
        if (reading.Errors.Count > 0)
        {
            throw new InvalidDataException($"{FileName}: {string.Join("; ", reading.Errors)}");
        }

        return config;
    }

    /// <summary>Triton's name of a datatype: TYPE_FP32 for FP32, TYPE_STRING for BYTES.</summary>
    public static string TypeName(TensorDataType type) => type == TensorDataType.Bytes ? "TYPE_STRING" : "TYPE_" + type.ToOipName();

    private sealed class Reading(Action<string, int, int>? ignoredField)
    {
        public List<string> Errors { get; } = [];

        public ModelConfig Model(TextProtoMessage root, string modelName, ModelConfig baseline)
        {
            var config = baseline;
            int? maxBatchSize = null;
            var batchingDeclared = false;
            List<TensorDeclaration> inputs = [], outputs = [];
            List<TextProtoField> groups = [];
            foreach (var field in Fields(root, ""))
            {
                switch (field.Name)
                {
                    case "name":
                        if (String(field) is { } name && name != modelName)
                        {
                            Error(field, $"name \"{name}\" is not the model's folder name \"{modelName}\"");
                        }

                        break;
                    case "platform":
                        Expect(field, Platform);
                        break;
                    case "backend":
                        Expect(field, Backend);
                        break;
                    case "max_batch_size":
                        maxBatchSize = Int(field, 0, 1024);
                        config = config with { MaxBatchSize = maxBatchSize ?? config.MaxBatchSize };
                        break;
                    case "input":
                        AddTensor(field, inputs);
                        break;
                    case "output":
                        AddTensor(field, outputs);
                        break;
                    case "dynamic_batching":
                        batchingDeclared = true;
                        config = DynamicBatching(field, config);
                        break;
                    case "instance_group":
                        groups.Add(field);
                        break;
                    case "version_policy":
                        config = config with { VersionPolicy = VersionPolicyOf(field) ?? config.VersionPolicy };
                        break;
                    case "response_cache":
                        config = config with { Cache = ResponseCache(field, config.Cache) };
                        break;
                    default:
                        Ignore(field, "");
                        break;
                }
            }

            if (!batchingDeclared && maxBatchSize is not null)
            {
                // Triton batches across requests only with dynamic_batching; without it (and with max_batch_size
                // given, so no auto-completion) each request runs as sent.
                config = config with { Batching = BatchingMode.Off };
            }

            if (groups.Count > 0)
            {
                config = InstanceGroups(groups, config);
            }

            if (config.MaxBatchSize is { } limit && config.PreferredBatchSizes.Any(p => p > Math.Max(limit, 1)))
            {
                Errors.Add($"dynamic_batching.preferred_batch_size must not exceed max_batch_size ({limit})");
            }

            return config with { Inputs = inputs.Count > 0 ? [.. inputs] : config.Inputs, Outputs = outputs.Count > 0 ? [.. outputs] : config.Outputs };
        }

        private ModelConfig DynamicBatching(TextProtoField field, ModelConfig config)
        {
            if (Message(field) is not { } message)
            {
                return config;
            }

            config = config with { Batching = BatchingMode.Fixed, MaxQueueDelayMs = 0, PreferredBatchSizes = [] };
            int? levels = null, defaultLevel = null;
            List<int> preferred = [];
            foreach (var f in Fields(message, "dynamic_batching."))
            {
                switch (f.Name)
                {
                    case "preferred_batch_size":
                        if (Int(f, 1, 1024) is { } size)
                        {
                            preferred.Add(size);
                        }

                        break;
                    case "max_queue_delay_microseconds":
                        if (Long(f, 0, 10_000_000) is { } micros)
                        {
                            config = config with { MaxQueueDelayMs = micros / 1000.0 };
                        }

                        break;
                    case "priority_levels":
                        levels = Int(f, 0, 16);
                        break;
                    case "default_priority_level":
                        defaultLevel = Int(f, 0, 16);
                        break;
                    case "default_queue_policy":
                        config = QueuePolicyOf(f, config);
                        break;
                    default:
                        Ignore(f, "dynamic_batching.");
                        break;
                }
            }

            // Triton: 0 priority levels means none, i.e. one; a default of 0 means the last level (as config.json's default).
            var count = levels is > 0 ? levels.Value : levels is 0 ? 1 : config.PriorityLevels;
            var level = defaultLevel is > 0 ? defaultLevel.Value : count;
            if (level > count)
            {
                Error(field, $"dynamic_batching.default_priority_level ({level}) must not exceed priority_levels ({count})");
            }

            return config with { PreferredBatchSizes = [.. preferred.Distinct().Order()], PriorityLevels = count, DefaultPriorityLevel = Math.Min(level, count) };
        }

        private ModelConfig QueuePolicyOf(TextProtoField field, ModelConfig config)
        {
            if (Message(field) is not { } message)
            {
                return config;
            }

            var policy = QueuePolicy.Default;
            foreach (var f in Fields(message, "dynamic_batching.default_queue_policy."))
            {
                switch (f.Name)
                {
                    case "timeout_action":
                        policy = policy with { TimeoutAction = Enum(f, TimeoutActions) ?? policy.TimeoutAction };
                        break;
                    case "default_timeout_microseconds":
                        policy = policy with { DefaultTimeoutMicroseconds = Long(f, 0, 86_400_000_000) ?? policy.DefaultTimeoutMicroseconds };
                        break;
                    case "allow_timeout_override":
                        policy = policy with { AllowTimeoutOverride = Bool(f) ?? policy.AllowTimeoutOverride };
                        break;
                    case "max_queue_size":
                        // Triton counts requests, 0 for no limit; the queue here counts rows (a one-row request is one).
                        if (Int(f, 0, 1_048_576) is { } size)
                        {
                            config = config with { MaxQueueRows = size == 0 ? 1_048_576 : size };
                        }

                        break;
                    default:
                        Ignore(f, "dynamic_batching.default_queue_policy.");
                        break;
                }
            }

            return config with { QueuePolicy = policy };
        }

        private ModelConfig InstanceGroups(List<TextProtoField> groups, ModelConfig config)
        {
            var instances = 0;
            ExecutionProviderKind? provider = null;
            int? device = null;
            List<int> devices = [];
            foreach (var group in groups)
            {
                if (Message(group) is not { } message)
                {
                    continue;
                }

                var count = 1;
                var kind = ExecutionProviderKind.Auto;
                List<int> gpus = [];
                foreach (var f in Fields(message, "instance_group."))
                {
                    switch (f.Name)
                    {
                        case "count":
                            count = Int(f, 1, 64) ?? count;
                            break;
                        case "kind":
                            kind = Enum(f, Kinds) ?? kind;
                            break;
                        case "gpus":
                            if (Int(f, 0, 1024) is { } gpu)
                            {
                                gpus.Add(gpu);
                            }

                            break;
                        default:
                            Ignore(f, "instance_group.");
                            break;
                    }
                }

                if (kind == ExecutionProviderKind.Cpu && gpus.Count > 0)
                {
                    Error(group, "instance_group of kind KIND_CPU must not list gpus");
                }

                if (provider is { } first && first != kind)
                {
                    Error(group, "every instance_group must have the same kind: one version's sessions run on one execution provider");
                }

                provider ??= kind;
                device ??= gpus.Count > 0 ? gpus[0] : null;

                // Triton starts count instances on each listed GPU: so do we, taking the GPUs in turn.
                instances += count * Math.Max(1, gpus.Count);
                for (var c = 0; c < count && gpus.Count > 0; c++)
                {
                    devices.AddRange(gpus);
                }
            }

            if (instances > 64)
            {
                Error(groups[0], $"instance_group asks for {instances} instances; at most 64");
            }

            return config with
            {
                Instances = Math.Clamp(instances, 1, 64),
                ExecutionProvider = provider ?? config.ExecutionProvider,
                DeviceId = device ?? config.DeviceId,
                Gpus = devices.Count > 0 && devices.Count == instances ? [.. devices] : config.Gpus,
            };
        }

        private VersionPolicy? VersionPolicyOf(TextProtoField field)
        {
            if (Message(field) is not { } message)
            {
                return null;
            }

            if (message.Fields.Count != 1 || message.Fields[0].Message is not { } choice)
            {
                Error(field, "version_policy must hold exactly one of latest { num_versions: N }, all { } or specific { versions: [...] }");
                return null;
            }

            var kind = message.Fields[0];
            switch (kind.Name)
            {
                case "all":
                    foreach (var f in Fields(choice, "version_policy.all."))
                    {
                        Ignore(f, "version_policy.all.");
                    }

                    return VersionPolicy.All;
                case "latest":
                    int? n = null;
                    foreach (var f in Fields(choice, "version_policy.latest."))
                    {
                        if (f.Name == "num_versions")
                        {
                            n = Int(f, 1, int.MaxValue);
                        }
                        else
                        {
                            Ignore(f, "version_policy.latest.");
                        }
                    }

                    if (n is null && !choice.Fields.Any(f => f.Name == "num_versions"))
                    {
                        Error(kind, "version_policy.latest needs num_versions, an integer of at least 1");
                    }

                    return n is { } num ? VersionPolicy.LatestN(num) : null;
                case "specific":
                    List<long> versions = [];
                    var valid = true;
                    foreach (var f in choice.Fields)
                    {
                        if (f.Name != "versions")
                        {
                            Ignore(f, "version_policy.specific.");
                        }
                        else if (Long(f, 0, long.MaxValue) is { } v)
                        {
                            versions.Add(v);
                        }
                        else
                        {
                            valid = false;
                        }
                    }

                    if (valid && versions.Count == 0)
                    {
                        Error(kind, "version_policy.specific needs versions, a non-empty list of non-negative integers");
                    }

                    return valid && versions.Count > 0 ? VersionPolicy.Of([.. versions]) : null;
                default:
                    Error(kind, $"version_policy has no kind '{kind.Name}': use latest, all or specific");
                    return null;
            }
        }

        private CachePolicy ResponseCache(TextProtoField field, CachePolicy current)
        {
            var enable = false;
            if (Message(field) is { } message)
            {
                foreach (var f in Fields(message, "response_cache."))
                {
                    if (f.Name == "enable")
                    {
                        enable = Bool(f) ?? enable;
                    }
                    else
                    {
                        Ignore(f, "response_cache.");
                    }
                }
            }

            // The time to live and admission stay config.json's (or their defaults): Triton's cache has neither per model.
            return current with { Enabled = enable };
        }

        private void AddTensor(TextProtoField field, List<TensorDeclaration> into)
        {
            if (Message(field) is not { } message)
            {
                return;
            }

            var prefix = field.Name + ".";
            string? name = null;
            TensorDataType? type = null;
            List<long> dims = [];
            foreach (var f in Fields(message, prefix))
            {
                switch (f.Name)
                {
                    case "name":
                        name = String(f);
                        break;
                    case "data_type":
                        type = DataType(f);
                        break;
                    case "dims":
                        if (Long(f, -1, long.MaxValue) is { } dim)
                        {
                            dims.Add(dim);
                        }

                        break;
                    default:
                        Ignore(f, prefix);
                        break;
                }
            }

            if (string.IsNullOrEmpty(name))
            {
                Error(field, $"every {field.Name} needs a name");
            }
            else if (into.Any(t => t.Name == name))
            {
                Error(field, $"{field.Name} \"{name}\" is declared twice");
            }
            else if (type is null && !message.Fields.Any(f => f.Name == "data_type"))
            {
                Error(field, $"{field.Name} \"{name}\" needs a data_type");
            }
            else if (type is { } t)
            {
                into.Add(new TensorDeclaration(name, t, [.. dims], field.Line));
            }
        }

        private TensorDataType? DataType(TextProtoField field)
        {
            if (field.Scalar is { Kind: TextProtoTokenKind.Identifier, Text: var text })
            {
                foreach (var type in System.Enum.GetValues<TensorDataType>())
                {
                    if (type != TensorDataType.Invalid && text == TypeName(type))
                    {
                        return type;
                    }
                }
            }

            Error(field, $"{field.Name} must be one of {string.Join(", ", System.Enum.GetValues<TensorDataType>().Where(t => t != TensorDataType.Invalid).Select(TypeName))}");
            return null;
        }

        // The fields of a message, with a second value of a field that is not repeated reported as an error.
        private IEnumerable<TextProtoField> Fields(TextProtoMessage message, string prefix)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var field in message.Fields)
            {
                if (!Repeated.Contains(prefix + field.Name) && !seen.Add(field.Name))
                {
                    Error(field, $"{prefix}{field.Name} is given more than once");
                    continue;
                }

                yield return field;
            }
        }

        private static readonly HashSet<string> Repeated =
        [
            "input", "output", "instance_group", "input.dims", "output.dims", "dynamic_batching.preferred_batch_size",
            "instance_group.gpus", "version_policy.specific.versions",
        ];

        private void Ignore(TextProtoField field, string prefix) => ignoredField?.Invoke(prefix + field.Name, field.Line, field.Column);

        private void Error(TextProtoField field, string message)
        {
            var (line, column) = field.ValuePosition;
            Errors.Add($"line {line}, column {column}: {message}");
        }

        private TextProtoMessage? Message(TextProtoField field)
        {
            if (field.Message is null)
            {
                Error(field, $"{field.Name} must be a message: {field.Name} {{ ... }}");
            }

            return field.Message;
        }

        private string? String(TextProtoField field)
        {
            if (field.Scalar is { Kind: TextProtoTokenKind.String } token)
            {
                return token.Text;
            }

            Error(field, $"{field.Name} must be a quoted string");
            return null;
        }

        private void Expect(TextProtoField field, string expected)
        {
            if (String(field) is { } text && text != expected)
            {
                Error(field, $"{field.Name} \"{text}\" is not supported: this server runs ONNX models ({field.Name} \"{expected}\")");
            }
        }

        private int? Int(TextProtoField field, int min, int max) => Long(field, min, max) is { } value ? (int)value : null;

        private long? Long(TextProtoField field, long min, long max)
        {
            if (field.Scalar is { Kind: TextProtoTokenKind.Number } token && TryParseInteger(token.Text, out var value) && value >= min && value <= max)
            {
                return value;
            }

            Error(field, max == long.MaxValue ? $"{field.Name} must be an integer of at least {min}" : $"{field.Name} must be an integer from {min} to {max}");
            return null;
        }

        private bool? Bool(TextProtoField field)
        {
            switch (field.Scalar?.Text)
            {
                case "true" or "True" or "t" or "1" when field.Scalar?.Kind is TextProtoTokenKind.Identifier or TextProtoTokenKind.Number:
                    return true;
                case "false" or "False" or "f" or "0" when field.Scalar?.Kind is TextProtoTokenKind.Identifier or TextProtoTokenKind.Number:
                    return false;
                default:
                    Error(field, $"{field.Name} must be true or false");
                    return null;
            }
        }

        private T? Enum<T>(TextProtoField field, (string Name, T Value)[] choices)
            where T : struct
        {
            if (field.Scalar is { Kind: TextProtoTokenKind.Identifier, Text: var text })
            {
                foreach (var (name, value) in choices)
                {
                    if (text == name)
                    {
                        return value;
                    }
                }
            }

            Error(field, $"{field.Name} must be {string.Join(", ", choices[..^1].Select(c => c.Name))} or {choices[^1].Name}");
            return null;
        }

        private static bool TryParseInteger(string text, out long value)
        {
            var negative = text.StartsWith('-');
            var digits = negative ? text.AsSpan(1) : text.AsSpan();
            var parsed = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? long.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && value >= 0
                : long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value);
            value = negative ? -value : value;
            return parsed;
        }
    }
}
