using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Repository;

/// <summary>
/// Loads one model version: creates its session instances, reads its signature, warms each instance up.
/// </summary>
internal sealed partial class ModelLoader
{
    /// <summary>The model file looked for in each version folder (Triton's default_model_filename).</summary>
    public const string ModelFileName = "model.onnx";

    private readonly OnnxSessionFactory _sessions;
    private readonly InferenceOptions _options;
    private readonly RuntimeCounters _counters;
    private readonly NodeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ModelLoader(OnnxSessionFactory sessions, InferenceOptions options, RuntimeCounters counters, NodeMetrics metrics, TimeProvider time, ILogger logger)
    {
        _sessions = sessions;
        _options = options;
        _counters = counters;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>Loads <paramref name="versionDirectory"/>; the caller owns the result and retires it.</summary>
    /// <exception cref="InvalidDataException">The version cannot be served; the message says why.</exception>
    public ModelVersion Load(string modelName, long version, string versionDirectory, string digest, ModelConfig config)
    {
        var modelPath = Path.Combine(versionDirectory, ModelFileName);
        if (!File.Exists(modelPath))
        {
            throw new InvalidDataException($"no {ModelFileName} in version folder {version}");
        }

        var settings = new SessionSettings(config.ExecutionProvider, config.DeviceId, config.IntraOpThreads, config.InterOpThreads);
        var instances = new List<OnnxModelInstance>(config.Instances);
        var sessions = new List<InferenceSession>();
        try
        {
            ModelSignature? signature = null;
            OutputShapePlan? plan = null;
            var provider = "cpu";
            for (var i = 0; i < config.Instances; i++)
            {
                InferenceSession session;
                try
                {
                    session = _sessions.Create(modelPath, settings, out provider);
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or InvalidOperationException)
                {
                    throw new InvalidDataException(ex.Message.Trim(), ex);
                }

                sessions.Add(session);
                _counters.SessionCreated(session);
                signature ??= DeclaredTensors.Apply(ReadSignature(session, config.MaxBatchSize, _options.DefaultMaxBatchSize), config);
                plan ??= new OutputShapePlan(signature);
                instances.Add(new OnnxModelInstance(session, signature, plan, _counters));
                sessions.Remove(session);
            }

            foreach (var instance in instances)
            {
                WarmUp(instance, signature!, modelName, version);
            }

            return new ModelVersion(modelName, version, digest, signature!, [.. instances], provider, config, _metrics, _time);
        }
        catch
        {
            foreach (var instance in instances)
            {
                instance.Dispose();
            }

            foreach (var session in sessions)
            {
                session.Dispose();
                _counters.SessionDisposed();
            }

            throw;
        }
    }

    /// <summary>Reads inputs and outputs from the session and settles max_batch_size.</summary>
    /// <exception cref="InvalidDataException">A tensor type OIP cannot carry, or a max_batch_size the shapes forbid.</exception>
    internal static ModelSignature ReadSignature(InferenceSession session, int? configuredMaxBatchSize, int defaultMaxBatchSize)
    {
        var inputs = session.InputNames.Select(n => ToSpec(n, session.InputMetadata[n], "input")).ToArray();
        var outputs = session.OutputNames.Select(n => ToSpec(n, session.OutputMetadata[n], "output")).ToArray();
        var all = inputs.Concat(outputs).ToArray();
        var batchable = all.All(t => t.Shape.Length > 0 && t.Shape[0] < 0);
        int maxBatchSize;
        if (configuredMaxBatchSize is { } configured)
        {
            if (configured > 0 && !batchable)
            {
                var fixedOne = all.First(t => t.Shape.Length == 0 || t.Shape[0] >= 0);
                throw new InvalidDataException(
                    $"max_batch_size {configured} needs a dynamic first dimension on every input and output, but '{fixedOne.Name}' has shape {TensorShape.Format(fixedOne.Shape)}; set max_batch_size 0");
            }

            maxBatchSize = configured;
        }
        else
        {
            maxBatchSize = batchable ? defaultMaxBatchSize : 0;
        }

        return new ModelSignature(inputs, outputs, maxBatchSize);
    }

    private static TensorSpec ToSpec(string name, NodeMetadata metadata, string kind)
    {
        if (!metadata.IsTensor)
        {
            throw new InvalidDataException($"{kind} '{name}' is a {metadata.OnnxValueType}, not a tensor; OIP carries tensors only");
        }

        if (!TensorDataTypes.TryFromOrt(metadata.ElementDataType, out var type))
        {
            throw new InvalidDataException($"{kind} '{name}' has element type {metadata.ElementDataType}, which OIP cannot carry");
        }

        var shape = metadata.Dimensions.Select(d => d < 0 ? -1L : d).ToArray();
        var symbols = metadata.SymbolicDimensions.Select((s, d) => shape[d] < 0 && !string.IsNullOrEmpty(s) ? s : null).ToArray();
        return new TensorSpec(name, type, shape, symbols);
    }

    /// <summary>
    /// The batch sizes a version is warmed up with at load: the powers of two below max_batch_size and
    /// max_batch_size itself (1 alone for a model that does not batch).
    /// </summary>
    internal static int[] WarmUpBatchSizes(int maxBatchSize)
    {
        var sizes = new List<int>();
        for (var size = 1; size < maxBatchSize; size *= 2)
        {
            sizes.Add(size);
        }

        sizes.Add(Math.Max(1, maxBatchSize));
        return [.. sizes];
    }

    /// <summary>A warm-up run slower than this ends the warm-up of its instance (larger batches would be slower still).</summary>
    internal static readonly TimeSpan WarmUpRunBudget = TimeSpan.FromMilliseconds(100);

    // A run on zeros (other dynamic dimensions 1) at each batch size of WarmUpBatchSizes, so that the first
    // requests do not pay for ONNX Runtime's lazy setup and its per-shape memory plans (docs/PERFORMANCE.md);
    // bounded: after a run slower than WarmUpRunBudget (a large model) the larger sizes are left to traffic.
    private void WarmUp(OnnxModelInstance instance, ModelSignature signature, string modelName, long version)
    {
        foreach (var rows in WarmUpBatchSizes(signature.MaxBatchSize))
        {
            var started = _time.GetTimestamp();
            var inputs = new PooledTensor[signature.Inputs.Length];
            try
            {
                for (var i = 0; i < inputs.Length; i++)
                {
                    inputs[i] = signature.Inputs[i].RentZeros(signature.MaxBatchSize > 0 ? rows : 1);
                }

                var outputs = signature.Outputs.Select((_, i) => new RequestedOutput(i, false)).ToArray();
                foreach (var output in instance.Run(inputs, outputs, batchSize: rows))
                {
                    output.Dispose();
                }

                if (_time.GetElapsedTime(started) > WarmUpRunBudget)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is InferenceException or OverflowException)
            {
                Log.WarmUpFailed(_logger, modelName, version, ex.Message);
                return;
            }
            finally
            {
                foreach (var input in inputs)
                {
                    input?.Dispose();
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Warning, "Warm-up of {Model} version {Version} on zeros failed; the model stays loaded: {Reason}")]
        public static partial void WarmUpFailed(ILogger logger, string model, long version, string reason);
    }
}
