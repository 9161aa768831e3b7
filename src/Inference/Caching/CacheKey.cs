using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// The exact identity of a prediction: XxHash128 over the model name, the version digest, every input
/// (in ordinal order of name: its name, datatype, shape and bytes) and the outputs asked for with their
/// binary flags. The request id is not part of it; JSON and binary requests for the same tensors decode
/// to the same bytes, so they share the key.
/// </summary>
/// <remarks>Lengths precede variable parts, so no two different requests hash the same stream.</remarks>
internal static class CacheKey
{
    /// <summary>Computes the key of <paramref name="request"/> to <paramref name="modelName"/> at <paramref name="digest"/>.</summary>
    public static UInt128 Compute(string modelName, string digest, InferRequest request, TensorSpec[] outputs)
    {
        var hash = new XxHash128();
        hash.Append("sg-cache-v1"u8);
        AppendText(hash, modelName);
        AppendText(hash, digest);
        AppendInt(hash, request.Inputs.Length);
        foreach (var input in request.Inputs.OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            AppendText(hash, input.Name);
            AppendInt(hash, (long)input.DataType);
            AppendInt(hash, input.Shape.Length);
            foreach (var dim in input.Shape)
            {
                AppendInt(hash, dim);
            }

            AppendInt(hash, input.Length);
            hash.Append(input.Span);
        }

        AppendInt(hash, request.Outputs.Length);
        foreach (var output in request.Outputs)
        {
            AppendText(hash, outputs[output.Index].Name);
            AppendInt(hash, output.Binary ? 1 : 0);
        }

        return hash.GetCurrentHashAsUInt128();
    }

    private static void AppendInt(XxHash128 hash, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        hash.Append(bytes);
    }

    private static void AppendText(XxHash128 hash, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        AppendInt(hash, bytes.Length);
        hash.Append(bytes);
    }
}
