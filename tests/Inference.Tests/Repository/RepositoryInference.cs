using System.Runtime.InteropServices;
using System.Text;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;

namespace ServingGateway.Inference.Tests.Repository;

/// <summary>Runs one JSON request through a repository's version, as the infer endpoint does, for tests.</summary>
internal static class RepositoryInference
{
    /// <summary>The single FP32 output of <paramref name="json"/> sent to the ready version of <paramref name="model"/>.</summary>
    public static async Task<float[]> InferAsync(ModelRepository repository, string model, string json)
    {
        var version = repository.Acquire(model, null);
        try
        {
            using var request = InferRequestReader.Read(Encoding.UTF8.GetBytes(json), null, version.Signature);
            var outputs = await version.InferAsync(request, CancellationToken.None);
            try
            {
                return MemoryMarshal.Cast<byte, float>(Assert.Single(outputs).Span).ToArray();
            }
            finally
            {
                outputs[0].Dispose();
            }
        }
        finally
        {
            version.Release();
        }
    }
}
