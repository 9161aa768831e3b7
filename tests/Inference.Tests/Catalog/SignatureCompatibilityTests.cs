using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Tests.Catalog;

/// <summary>When a new version may replace the serving one: same names, datatypes and ranks; fixed dimensions kept or made dynamic.</summary>
public sealed class SignatureCompatibilityTests
{
    private static TensorSpec Spec(string name, TensorDataType type, params long[] shape) => new(name, type, shape, new string?[shape.Length]);

    private static ModelSignature Signature(TensorSpec[] inputs, TensorSpec[] outputs) => new(inputs, outputs, 8);

    private static readonly ModelSignature Serving = Signature(
        [Spec("x", TensorDataType.Fp32, -1, 4), Spec("mask", TensorDataType.Int64, -1, -1)],
        [Spec("y", TensorDataType.Fp32, -1, 10)]);

    [Fact]
    public void Differences_SameSignature_None() =>
        Assert.Empty(SignatureCompatibility.Differences(Serving, Serving));

    [Fact]
    public void Differences_DynamicMadeFixedOrFixedMadeDynamic_None()
    {
        var candidate = Signature(
            [Spec("mask", TensorDataType.Int64, -1, 128), Spec("x", TensorDataType.Fp32, -1, -1)],
            [Spec("y", TensorDataType.Fp32, 32, 10)]);

        Assert.Empty(SignatureCompatibility.Differences(Serving, candidate));
    }

    [Fact]
    public void Differences_EveryKindOfChange_ListsEach()
    {
        var candidate = Signature(
            [Spec("x", TensorDataType.Fp16, -1, 5), Spec("mask", TensorDataType.Int64, -1), Spec("extra", TensorDataType.Fp32, 1)],
            [Spec("logits", TensorDataType.Fp32, -1, 10)]);

        var differences = SignatureCompatibility.Differences(Serving, candidate);

        Assert.Equal(
        [
            "input 'x' is FP16, was FP32",
            "input 'x' has shape [-1, 5], was [-1, 4] (dimension 1 is fixed at 4)",
            "input 'mask' has rank 1 (shape [-1]), was rank 2 (shape [-1, -1])",
            "input 'extra' is new (the serving version's inputs are 'x', 'mask')",
            "output 'y' is missing (the new version's outputs are 'logits')",
            "output 'logits' is new (the serving version's outputs are 'y')",
        ], differences);
    }
}
