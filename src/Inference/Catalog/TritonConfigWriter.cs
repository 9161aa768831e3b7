using System.Globalization;
using System.Text.Json;
using ServingGateway.Batching;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Writes a loaded version's effective configuration in Triton's JSON form (its model_config.proto as JSON,
/// field names as in config.pbtxt, 64-bit numbers as numbers), which Triton's clients read
/// (<c>get_model_config</c>, perf_analyzer). Settings Triton has no field for are under "parameters" as
/// <c>{"key": {"string_value": "..."}}</c>.
/// </summary>
internal static class TritonConfigWriter
{
    /// <summary>Writes the configuration object's properties (the caller writes its braces).</summary>
    /// <param name="w">The writer, inside an object.</param>
    /// <param name="name">The model's name.</param>
    /// <param name="config">The settings the version was loaded with.</param>
    /// <param name="signature">The version's inputs and outputs (the model's, narrowed by config.pbtxt) and max_batch_size.</param>
    /// <param name="batching">What the version's batcher runs with (mode, delay, sizes, queue, priority levels).</param>
    /// <param name="executionProvider">Where its sessions run: "cpu" or "cuda".</param>
    /// <param name="parameters">Facts about the version added to "parameters" (version, digest).</param>
    public static void Write(Utf8JsonWriter w, string name, ModelConfig config, ModelSignature signature, BatchingOptions batching,
        string executionProvider, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        w.WriteString("name"u8, name);
        w.WriteString("platform"u8, TritonConfigReader.Platform);
        w.WriteString("backend"u8, TritonConfigReader.Backend);
        WriteVersionPolicy(w, config.VersionPolicy);
        w.WriteNumber("max_batch_size"u8, signature.MaxBatchSize);
        WriteTensors(w, "input"u8, signature.Inputs, signature.MaxBatchSize, isInput: true);
        WriteTensors(w, "output"u8, signature.Outputs, signature.MaxBatchSize, isInput: false);
        if (batching.Mode != BatchingMode.Off)
        {
            // Off has no dynamic batcher, which Triton says by leaving dynamic_batching out.
            w.WriteStartObject("dynamic_batching"u8);
            w.WriteStartArray("preferred_batch_size"u8);
            foreach (var size in batching.PreferredBatchSizes)
            {
                w.WriteNumberValue(size);
            }

            w.WriteEndArray();
            w.WriteNumber("max_queue_delay_microseconds"u8, (long)Math.Round(batching.MaxQueueDelay.TotalMicroseconds));
            w.WriteBoolean("preserve_ordering"u8, false);
            w.WriteNumber("priority_levels"u8, batching.PriorityLevels);
            w.WriteNumber("default_priority_level"u8, config.DefaultPriorityLevel);
            w.WriteStartObject("default_queue_policy"u8);
            w.WriteString("timeout_action"u8, config.QueuePolicy.TimeoutAction == QueueTimeoutAction.Delay ? "DELAY" : "REJECT");
            w.WriteNumber("default_timeout_microseconds"u8, config.QueuePolicy.DefaultTimeoutMicroseconds);
            w.WriteBoolean("allow_timeout_override"u8, config.QueuePolicy.AllowTimeoutOverride);
            w.WriteNumber("max_queue_size"u8, batching.MaxQueueRows);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        var gpu = executionProvider == "cuda";
        w.WriteStartArray("instance_group"u8);
        w.WriteStartObject();
        w.WriteString("name"u8, name + "_0");
        w.WriteString("kind"u8, gpu ? "KIND_GPU" : "KIND_CPU");
        w.WriteNumber("count"u8, batching.Instances);
        w.WriteStartArray("gpus"u8);
        if (gpu)
        {
            w.WriteNumberValue(config.DeviceId);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("default_model_filename"u8, "model.onnx"u8);
        w.WriteStartObject("response_cache"u8);
        w.WriteBoolean("enable"u8, config.Cache.Enabled);
        w.WriteEndObject();

        w.WriteStartObject("parameters"u8);
        foreach (var (key, value) in parameters)
        {
            WriteParameter(w, key, value);
        }

        WriteParameter(w, "batching", batching.Mode.ToString().ToLowerInvariant());
        WriteParameter(w, "latency_slo_ms", config.LatencySloMs.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "max_queue_rows", batching.MaxQueueRows.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "max_queue_mb", config.MaxQueueMb.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "overload_policy", config.Overload.PolicyName);
        WriteParameter(w, "overload_slo_factor", config.Overload.SloFactor.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "overload_codel_target_ms", config.Overload.CoDelTargetMs.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "overload_codel_interval_ms", config.Overload.CoDelIntervalMs.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "execution_provider", config.ExecutionProvider.ToString().ToLowerInvariant());
        WriteParameter(w, "device_id", config.DeviceId.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "intra_op_threads", config.IntraOpThreads.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "inter_op_threads", config.InterOpThreads.ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "cache_ttl_seconds", ((long)config.Cache.TimeToLive.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        WriteParameter(w, "cache_admission", config.Cache.Admission switch
        {
            Caching.CacheAdmission.Always => "always",
            Caching.CacheAdmission.SecondHit => "second-hit",
            _ => "auto",
        });
        w.WriteEndObject();
    }

    private static void WriteParameter(Utf8JsonWriter w, string key, string value)
    {
        w.WriteStartObject(key);
        w.WriteString("string_value"u8, value);
        w.WriteEndObject();
    }

    private static void WriteVersionPolicy(Utf8JsonWriter w, VersionPolicy policy)
    {
        w.WriteStartObject("version_policy"u8);
        if (policy.Specific is { } versions)
        {
            w.WriteStartObject("specific"u8);
            w.WriteStartArray("versions"u8);
            foreach (var version in versions)
            {
                w.WriteNumberValue(version);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }
        else if (policy.Latest == int.MaxValue)
        {
            w.WriteStartObject("all"u8);
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartObject("latest"u8);
            w.WriteNumber("num_versions"u8, policy.Latest);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteTensors(Utf8JsonWriter w, ReadOnlySpan<byte> property, TensorSpec[] tensors, int maxBatchSize, bool isInput)
    {
        w.WriteStartArray(property);
        foreach (var tensor in tensors)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, tensor.Name);
            w.WriteString("data_type"u8, TritonConfigReader.TypeName(tensor.DataType));
            if (isInput)
            {
                w.WriteString("format"u8, "FORMAT_NONE"u8);
            }

            // Triton's dims leave out the batch dimension when the model batches.
            w.WriteStartArray("dims"u8);
            foreach (var dim in tensor.Shape.AsSpan(maxBatchSize > 0 && tensor.Shape.Length > 0 ? 1 : 0))
            {
                w.WriteNumberValue(dim);
            }

            w.WriteEndArray();
            w.WriteBoolean("is_shape_tensor"u8, false);
            if (isInput)
            {
                w.WriteBoolean("allow_ragged_batch"u8, false);
                w.WriteBoolean("optional"u8, false);
            }
            else
            {
                w.WriteString("label_filename"u8, ""u8);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    }
}
