using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Caching;

/// <summary>
/// The exact identity of a prediction: XxHash128 over the model name, the version number and its digest, every input
/// (in ordinal order of name: its name, datatype, shape and bytes) and the outputs asked for with their
/// binary flags. The request id is not part of it; JSON and binary requests for the same tensors decode
/// to the same bytes, so they share the key.
/// </summary>
/// <remarks>
/// Lengths precede variable parts, so no two different requests hash the same stream. The version number is
/// part of the key, not only the digest: two versions with identical files have one digest, and a response
/// (which names its version) or a prediction of one must never answer the other.
/// </remarks>
internal static class CacheKey
{
    // One hasher per thread, reset for each key: computing a key allocates nothing.
    [ThreadStatic]
    private static XxHash128? t_hash;

    /// <summary>
    /// The bytes every key of a version starts with (format tag, model name, version number, digest), computed
    /// once per version and hashed first by <see cref="Compute(byte[], InferRequest, ModelSignature)"/>.
    /// </summary>
    public static byte[] Prefix(string modelName, long version, string digest)
    {
        var tag = "sg-cache-v2"u8;
        var name = Encoding.UTF8.GetBytes(modelName);
        var files = Encoding.UTF8.GetBytes(digest);
        var prefix = new byte[tag.Length + 8 + name.Length + 8 + 8 + files.Length];
        var at = tag.Length;
        tag.CopyTo(prefix);
        BinaryPrimitives.WriteInt64LittleEndian(prefix.AsSpan(at), name.Length);
        name.CopyTo(prefix, at += 8);
        BinaryPrimitives.WriteInt64LittleEndian(prefix.AsSpan(at += name.Length), version);
        BinaryPrimitives.WriteInt64LittleEndian(prefix.AsSpan(at += 8), files.Length);
        files.CopyTo(prefix, at + 8);
        return prefix;
    }

    /// <summary>Computes the key of <paramref name="request"/> to version <paramref name="version"/> of <paramref name="modelName"/> at <paramref name="digest"/>.</summary>
    public static UInt128 Compute(string modelName, long version, string digest, InferRequest request, ModelSignature signature) =>
        Compute(Prefix(modelName, version, digest), request, signature);

    /// <summary>Computes the key of <paramref name="request"/> from a version's <see cref="Prefix"/>.</summary>
    public static UInt128 Compute(byte[] prefix, InferRequest request, ModelSignature signature)
    {
        var hash = Start(prefix);
        AppendInt(hash, request.Inputs.Length);
        foreach (var index in signature.InputsByName)
        {
            var input = request.Inputs[index];
            AppendText(hash, signature.Inputs[index].Utf8Name);
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
            AppendText(hash, signature.Outputs[output.Index].Utf8Name);
            AppendInt(hash, output.Binary ? 1 : 0);
        }

        return hash.GetCurrentHashAsUInt128();
    }

    /// <summary>
    /// The key of a request's exact bytes (and its binary header length), for the whole-response fast path:
    /// byte-identical requests to a version get byte-identical responses.
    /// </summary>
    public static UInt128 ComputeExact(byte[] prefix, int? headerLength, ReadOnlySpan<byte> body)
    {
        var hash = Start(prefix);
        hash.Append("exact-request"u8);
        AppendInt(hash, headerLength ?? -1);
        AppendInt(hash, body.Length);
        hash.Append(body);
        return hash.GetCurrentHashAsUInt128();
    }

    private static XxHash128 Start(byte[] prefix)
    {
        var hash = t_hash ??= new XxHash128();
        hash.Reset();
        hash.Append(prefix);
        return hash;
    }

    private static void AppendInt(XxHash128 hash, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        hash.Append(bytes);
    }

    private static void AppendText(XxHash128 hash, byte[] utf8)
    {
        AppendInt(hash, utf8.Length);
        hash.Append(utf8);
    }
}
