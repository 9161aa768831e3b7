using Microsoft.Extensions.Logging.Abstractions;
using ServingGateway.Inference.Runtime;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Runtime;

/// <summary>Whether CUDA can run here: this is the GPU build (-p:OrtGpu=true) and a CUDA session of mlp creates.</summary>
internal static class CudaProbe
{
    private static readonly Lazy<string?> Missing = new(Probe);

    /// <summary>Null when CUDA runs here, else why not (the factory's load error).</summary>
    public static string? WhyNot => Missing.Value;

    private static string? Probe()
    {
        try
        {
            var created = new OnnxSessionFactory(NullLogger<OnnxSessionFactory>.Instance).CreateExecutors(
                RepoPaths.ExampleModel("mlp"), new SessionSettings(ExecutionProviderKind.Cuda, 0, 1, 1), 1, null, 32, new RuntimeCounters());
            created.Executors[0].Dispose();
            return null;
        }
        catch (InvalidDataException ex)
        {
            return ex.Message;
        }
    }
}
