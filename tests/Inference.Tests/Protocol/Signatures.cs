using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Tests.Protocol;

/// <summary>Hand-made model signatures for codec tests (no ONNX Runtime needed).</summary>
internal static class Signatures
{
    public static TensorSpec Spec(string name, TensorDataType type, params long[] shape) =>
        new(name, type, shape, [.. shape.Select(d => (string?)null)]);

    public static TensorSpec Symbolic(string name, TensorDataType type, long[] shape, string?[] symbols) =>
        new(name, type, shape, symbols);

    /// <summary>Like models/mlp: input FP32 [-1, 64], output FP32 [-1, 10], max_batch_size 64.</summary>
    public static ModelSignature Mlp() =>
        new([Spec("input", TensorDataType.Fp32, -1, 64)], [Spec("output", TensorDataType.Fp32, -1, 10)], 64);

    /// <summary>BYTES elements in the binary extension's layout: each a 4-byte little-endian length and its bytes.</summary>
    public static byte[] Prefixed(params byte[][] elements)
    {
        var result = new List<byte>();
        foreach (var element in elements)
        {
            result.AddRange(BitConverter.GetBytes(element.Length));
            result.AddRange(element);
        }

        return [.. result];
    }

    /// <summary>One input "x" and one output "y" of the given type and shape.</summary>
    public static ModelSignature Single(TensorDataType type, int maxBatchSize, params long[] shape) =>
        new([Spec("x", type, shape)], [Spec("y", type, shape)], maxBatchSize);
}
