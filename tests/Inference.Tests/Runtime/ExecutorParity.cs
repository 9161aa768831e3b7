using System.Runtime.InteropServices;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Runtime;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Tests.Runtime;

/// <summary>
/// Compares two executors of one model on the same inputs (the GPU tests and tools/GpuCheck share it): seeded
/// inputs for a signature and the relative error of one output against the other.
/// </summary>
internal static class ExecutorParity
{
    /// <summary>The largest relative error allowed between a CUDA output and the CPU one (issue 14).</summary>
    public const double Tolerance = 1e-3;

    /// <summary>The models compared (example repository) and the batch sizes.</summary>
    public static readonly string[] Models = ["mlp", "minilm", "resnet18_dynamic"];

    /// <summary>
    /// Seeded inputs of <paramref name="batch"/> rows (other dynamic dimensions <paramref name="sequence"/>): floats
    /// in [-1, 1), integers token ids below 1000, except masks (1) and token type ids (0) by name. The caller owns them.
    /// </summary>
    public static PooledTensor[] Inputs(ModelSignature signature, int batch, int sequence, int seed)
    {
        var random = new Random(seed);
        var inputs = new PooledTensor[signature.Inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            var spec = signature.Inputs[i];
            var shape = spec.Shape.Select((d, axis) => d >= 0 ? d : axis == 0 ? batch : sequence).ToArray();
            var count = shape.Aggregate(1L, (a, d) => a * d);
            var tensor = PooledTensor.Rent(spec.Name, spec.DataType, shape, count, checked((int)(count * spec.DataType.ElementSize())));
            switch (spec.DataType)
            {
                case TensorDataType.Fp32:
                    foreach (ref var x in MemoryMarshal.Cast<byte, float>(tensor.Span))
                    {
                        x = (float)(random.NextDouble() * 2 - 1);
                    }

                    break;
                case TensorDataType.Int64:
                    var fill = spec.Name.Contains("mask", StringComparison.Ordinal) ? 1L : spec.Name.Contains("type", StringComparison.Ordinal) ? 0L : -1L;
                    foreach (ref var x in MemoryMarshal.Cast<byte, long>(tensor.Span))
                    {
                        x = fill >= 0 ? fill : random.Next(1000);
                    }

                    break;
                default:
                    tensor.Dispose();
                    throw new NotSupportedException($"no random inputs of type {spec.DataType}");
            }

            inputs[i] = tensor;
        }

        return inputs;
    }

    /// <summary>Runs every output of the model; the caller owns the results.</summary>
    public static PooledTensor[] Run(IModelExecutor executor, ModelSignature signature, PooledTensor[] inputs, int batch) =>
        executor.Run(inputs, [.. signature.Outputs.Select((_, i) => new RequestedOutput(i, false))], batch);

    /// <summary>
    /// max |actual - expected| / max |expected| over the elements (FP32), infinity when the shapes differ: an error
    /// relative to the output's scale, so that elements near zero do not dominate it.
    /// </summary>
    public static double RelativeError(PooledTensor actual, PooledTensor expected)
    {
        if (!actual.Shape.SequenceEqual(expected.Shape) || actual.DataType != expected.DataType || actual.DataType != TensorDataType.Fp32)
        {
            return double.PositiveInfinity;
        }

        var a = MemoryMarshal.Cast<byte, float>(actual.Span);
        var e = MemoryMarshal.Cast<byte, float>(expected.Span);
        double difference = 0, scale = 0;
        for (var i = 0; i < e.Length; i++)
        {
            difference = Math.Max(difference, Math.Abs((double)a[i] - e[i]));
            scale = Math.Max(scale, Math.Abs((double)e[i]));
        }

        return double.IsNaN(difference) ? double.PositiveInfinity : difference / Math.Max(scale, 1e-12);
    }

    /// <summary>Disposes what a run or <see cref="Inputs"/> returned.</summary>
    public static void DisposeAll(IEnumerable<PooledTensor> tensors)
    {
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }
}
