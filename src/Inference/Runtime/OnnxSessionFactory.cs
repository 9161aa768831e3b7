using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Creates ONNX Runtime sessions with the requested execution provider: auto tries CUDA and falls back
/// to CPU with one warning per process; cuda fails with the reason when CUDA cannot be used. Wraps them
/// as the <see cref="IModelExecutor"/>s of a version, with the signature read from the first: a session on CUDA
/// becomes a <see cref="CudaModelInstance"/> (IOBinding over pinned host buffers), one on CPU an
/// <see cref="OnnxModelInstance"/> (the CPU path, unchanged).
/// </summary>
internal sealed partial class OnnxSessionFactory
{
    private readonly ILogger<OnnxSessionFactory> _logger;
    private int _warnedNoCuda;

    public OnnxSessionFactory(ILogger<OnnxSessionFactory> logger)
    {
        _logger = logger;
    }

    /// <summary>
    /// Creates a session for <paramref name="modelPath"/>; the caller owns and disposes it.
    /// <paramref name="provider"/> says where it runs ("cuda" or "cpu").
    /// </summary>
    /// <exception cref="OnnxRuntimeException">The model cannot be loaded.</exception>
    /// <exception cref="InvalidOperationException">cuda was required and is not available.</exception>
    public InferenceSession Create(string modelPath, SessionSettings settings, out string provider)
    {
        if (settings.ExecutionProvider != ExecutionProviderKind.Cpu)
        {
            try
            {
                var session = CreateSession(modelPath, settings, cuda: true);
                provider = "cuda";
                return session;
            }
            catch (Exception ex) when (IsMissingCuda(ex))
            {
                if (settings.ExecutionProvider == ExecutionProviderKind.Cuda)
                {
                    throw new InvalidOperationException(
                        $"execution_provider is cuda but CUDA is not available: {Describe(ex)}; use auto or cpu to run on CPU", ex);
                }

                if (Interlocked.Exchange(ref _warnedNoCuda, 1) == 0)
                {
                    Log.CudaUnavailable(_logger, Describe(ex));
                }
            }
        }

        provider = "cpu";
        return CreateSession(modelPath, settings, cuda: false);
    }

    /// <summary>
    /// Creates <paramref name="count"/> executors (one session each) of <paramref name="modelPath"/> and reads the
    /// version's signature; the caller owns the executors. Creating several native objects is guarded: a failure
    /// half-way disposes what was created.
    /// </summary>
    /// <exception cref="InvalidDataException">The model cannot be served here; the message says why.</exception>
    public ModelExecutors CreateExecutors(string modelPath, SessionSettings settings, int count, int? maxBatchSize, int defaultMaxBatchSize, RuntimeCounters counters)
    {
        var instances = new List<IModelExecutor>(count);
        var sessions = new List<InferenceSession>();
        try
        {
            ModelSignature? signature = null;
            OutputShapePlan? plan = null;
            var provider = "cpu";
            for (var i = 0; i < count; i++)
            {
                InferenceSession session;
                try
                {
                    session = Create(modelPath, settings with { DeviceId = settings.DeviceOf(i) }, out provider);
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or InvalidOperationException)
                {
                    throw new InvalidDataException(ex.Message.Trim(), ex);
                }

                sessions.Add(session);
                counters.SessionCreated(session);
                signature ??= ReadSignature(session, maxBatchSize, defaultMaxBatchSize);
                plan ??= new OutputShapePlan(signature);
                instances.Add(provider == "cuda" && !HasBytes(signature)
                    ? new CudaModelInstance(session, signature, plan, counters, CudaModelInstance.PinnedHostMemory(settings.DeviceOf(i)))
                    : new OnnxModelInstance(session, signature, plan, counters));
                sessions.Remove(session);
            }

            return new ModelExecutors([.. instances], signature!, provider);
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
                counters.SessionDisposed();
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

    // BYTES tensors cannot be bound through IOBinding; ONNX Runtime runs such models' string kernels on CPU anyway.
    private static bool HasBytes(ModelSignature signature) =>
        signature.Inputs.Any(t => t.DataType == TensorDataType.Bytes) || signature.Outputs.Any(t => t.DataType == TensorDataType.Bytes);

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

    private static InferenceSession CreateSession(string modelPath, SessionSettings settings, bool cuda)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = settings.IntraOpThreads,
            InterOpNumThreads = settings.InterOpThreads,
        };
        if (cuda)
        {
            // Throws when this build has no CUDA provider or the machine lacks the CUDA libraries.
            using var cudaOptions = new OrtCUDAProviderOptions();
            cudaOptions.UpdateOptions(CudaProviderOptions(settings.DeviceId));
            options.AppendExecutionProvider_CUDA(cudaOptions);
        }

        return new InferenceSession(modelPath, options);
    }

    /// <summary>
    /// The CUDA execution provider's options (docs/GPU.md): the device; cuDNN picks convolution algorithms by
    /// its heuristics (EXHAUSTIVE benchmarks every algorithm per new input shape, a stall of seconds on the
    /// first batch of each size that the adaptive batcher would meet in traffic); copies run on the compute
    /// stream (do_copy_in_default_stream, so a copy and the kernels that use it are ordered without an event);
    /// device memory comes from ONNX Runtime's arena, grown to the largest batch and then reused; FP32 models
    /// compute in FP32 (TF32 would round to 10 mantissa bits, errors near the 1e-3 the GPU tests allow).
    /// </summary>
    internal static Dictionary<string, string> CudaProviderOptions(int deviceId) => new()
    {
        ["device_id"] = deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["cudnn_conv_algo_search"] = "HEURISTIC",
        ["do_copy_in_default_stream"] = "1",
        ["arena_extend_strategy"] = "kNextPowerOfTwo",
        ["use_tf32"] = "0",
    };

    private static string Describe(Exception ex) => ex is EntryPointNotFoundException || IsCpuBuild(ex)
        ? "this build has the CPU ONNX Runtime (build with -p:OrtGpu=true for CUDA)"
        : $"{ex.Message.Trim()} (CUDA 13 and cuDNN must be installed)";

    // The CPU package answers the CUDA provider's calls with "... is not enabled in this build" (or lacks them).
    private static bool IsCpuBuild(Exception ex) =>
        ex is OnnxRuntimeException && ex.Message.Contains("not enabled in this build", StringComparison.OrdinalIgnoreCase);

    // A CPU-only build lacks the entry point; a GPU build without CUDA libraries fails to load the provider.
    private static bool IsMissingCuda(Exception ex) =>
        ex is EntryPointNotFoundException or DllNotFoundException
        || (ex is OnnxRuntimeException && ex.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase));

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "CUDA is not available, models with execution_provider auto run on CPU: {Reason}")]
        public static partial void CudaUnavailable(ILogger logger, string reason);
    }
}
