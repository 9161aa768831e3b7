using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Drift;
using ServingGateway.Inference.Metrics;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Residency;

/// <summary>
/// Makes a version resident: creates its executors (<see cref="OnnxSessionFactory"/>), warms each up, and
/// builds the <see cref="ModelHost"/> that serves it. The repository asks for hosts here and never builds
/// one itself, so a residency policy (load on demand, evict) decides when this is called, not how.
/// </summary>
internal sealed partial class ModelHostFactory
{
    /// <summary>The model file looked for in each version folder (Triton's default_model_filename).</summary>
    public const string ModelFileName = "model.onnx";

    private readonly OnnxSessionFactory _sessions;
    private readonly InferenceOptions _options;
    private readonly NodeMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<ModelHostFactory> _logger;
    private readonly Lock _gpuLoads = new();

    public ModelHostFactory(IOptions<InferenceOptions> options, OnnxSessionFactory sessions, NodeMetrics metrics, TimeProvider time, ILogger<ModelHostFactory> logger)
    {
        _sessions = sessions;
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>Native objects held by the hosts this factory built.</summary>
    public RuntimeCounters Counters { get; } = new();

    /// <summary>
    /// What one ONNX Runtime session is counted to hold per byte of its model file, for Inference:MaxResidentMb:
    /// the weights once as initializers and about once more in the arena and the memory plans of the shapes it
    /// runs (an estimate, not a measurement: see docs/CONFIGURATION.md).
    /// </summary>
    public const int MemoryFactor = 2;

    /// <summary>
    /// The bytes a version is counted to hold while resident: its model file's size x its instances x
    /// <see cref="MemoryFactor"/> (each instance is a session with its own copy of the weights).
    /// </summary>
    /// <exception cref="IOException">The model file cannot be read.</exception>
    public static long EstimateBytes(string versionDirectory, ModelConfig config)
    {
        var modelPath = Path.Combine(versionDirectory, ModelFileName);
        // A symbolic link counts the size of the file it points to, not its own.
        var file = new FileInfo(modelPath);
        var size = !file.Exists ? 0 : file.LinkTarget is null ? file.Length : (file.ResolveLinkTarget(true) as FileInfo)?.Length ?? 0;
        return size * Math.Max(1, config.Instances) * MemoryFactor;
    }

    /// <summary>Loads <paramref name="versionDirectory"/>; the caller owns the result and retires it.</summary>
    /// <exception cref="InvalidDataException">The version cannot be served; the message says why.</exception>
    public ModelHost Create(string modelName, long version, string versionDirectory, string digest, ModelConfig config)
    {
        var modelPath = Path.Combine(versionDirectory, ModelFileName);
        if (!File.Exists(modelPath))
        {
            throw new InvalidDataException($"no {ModelFileName} in version folder {version}");
        }

        var settings = new SessionSettings(config.ExecutionProvider, config.DeviceId, config.IntraOpThreads, config.InterOpThreads, config.Gpus);
        var devices = Enumerable.Range(0, config.Instances).Select(settings.DeviceOf).Distinct().ToArray();

        // Loads that may run on CUDA take turns while the device memory is read before and after, so one version's
        // figure does not hold another's; where CUDA cannot be read (no GPU) the first read says so and nothing waits.
        var measure = config.ExecutionProvider != ExecutionProviderKind.Cpu && CudaMemory.UsedBytes(devices[0]) is not null;
        if (measure)
        {
            _gpuLoads.Enter();
        }

        try
        {
            var before = measure ? devices.ToDictionary(d => d, d => CudaMemory.UsedBytes(d) ?? 0) : null;
            var host = Create(modelName, version, digest, config, modelPath, settings);
            if (before is not null && host.ExecutionProvider == "cuda")
            {
                _metrics.SetGpuMemory(modelName, host.VersionText, devices.ToDictionary(d => d, d => Math.Max(0, (CudaMemory.UsedBytes(d) ?? 0) - before[d])));
            }

            return host;
        }
        finally
        {
            if (measure)
            {
                _gpuLoads.Exit();
            }
        }
    }

    /// <summary>
    /// The signature <paramref name="versionDirectory"/> would serve with under <paramref name="config"/> (its
    /// max_batch_size and config.pbtxt declarations applied, as <see cref="Create(string, long, string, string, ModelConfig)"/>
    /// applies them), read from one CPU session created for the purpose and disposed before returning: nothing stays loaded.
    /// </summary>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the file, or it does not fit the config; the message says why.</exception>
    public ModelSignature ReadSignature(string versionDirectory, ModelConfig config)
    {
        var modelPath = Path.Combine(versionDirectory, ModelFileName);
        if (!File.Exists(modelPath))
        {
            throw new InvalidDataException($"no {ModelFileName} in the version folder");
        }

        var settings = new SessionSettings(ExecutionProviderKind.Cpu, 0, config.IntraOpThreads, config.InterOpThreads);
        InferenceSession session;
        try
        {
            session = _sessions.Create(modelPath, settings, out _);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException(ex.Message.Trim(), ex);
        }

        using (session)
        {
            return DeclaredTensors.Apply(OnnxSessionFactory.ReadSignature(session, config.MaxBatchSize, _options.DefaultMaxBatchSize), config);
        }
    }

    private ModelHost Create(string modelName, long version, string digest, ModelConfig config, string modelPath, SessionSettings settings)
    {
        var created = _sessions.CreateExecutors(modelPath, settings, config.Instances, config.MaxBatchSize, _options.DefaultMaxBatchSize, Counters);
        try
        {
            // config.pbtxt's input and output declarations must match the model; they may narrow its dynamic dimensions.
            var signature = DeclaredTensors.Apply(created.Signature, config);
            foreach (var executor in created.Executors)
            {
                WarmUp(executor, signature, modelName, version);
            }

            var drift = config.Drift.Enabled
                ? new DriftMonitor(modelName, version.ToString(System.Globalization.CultureInfo.InvariantCulture), signature, config.Drift,
                    Path.Combine(Path.GetDirectoryName(modelPath)!, DriftMonitor.ReferenceFileName), _metrics, _logger)
                : null;
            return new ModelHost(modelName, version, digest, signature, created.Executors, created.Provider, config, _metrics, _time, drift);
        }
        catch
        {
            foreach (var executor in created.Executors)
            {
                executor.Dispose();
            }

            throw;
        }
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

    /// <summary>A warm-up run slower than this ends the warm-up of its executor (larger batches would be slower still).</summary>
    internal static readonly TimeSpan WarmUpRunBudget = TimeSpan.FromMilliseconds(100);

    // A run on zeros (other dynamic dimensions 1) at each batch size of WarmUpBatchSizes, so that the first
    // requests do not pay for ONNX Runtime's lazy setup and its per-shape memory plans (docs/PERFORMANCE.md);
    // bounded: after a run slower than WarmUpRunBudget (a large model) the larger sizes are left to traffic.
    private void WarmUp(IModelExecutor executor, ModelSignature signature, string modelName, long version)
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
                foreach (var output in executor.Run(inputs, outputs, batchSize: rows))
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
