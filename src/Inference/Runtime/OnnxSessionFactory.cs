using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// Creates ONNX Runtime sessions with the requested execution provider: auto tries CUDA and falls back
/// to CPU with one warning per process; cuda fails with the reason when CUDA cannot be used.
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
            options.AppendExecutionProvider_CUDA(settings.DeviceId);
        }

        return new InferenceSession(modelPath, options);
    }

    private static string Describe(Exception ex) => ex is EntryPointNotFoundException
        ? "this build has the CPU ONNX Runtime (build with -p:OrtGpu=true for CUDA)"
        : $"{ex.Message.Trim()} (CUDA 13 and cuDNN must be installed)";

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
