using System.Text;
using ServingGateway.Deployments.Shadow;

namespace ServingGateway.Gateway.Tests.Deployments.Shadow;

public sealed class OutputDivergenceTests
{
    private static readonly float[] Values = [0.1f, -2.5f, 3f, 1e-3f, 7.25f, -0.3f];

    [Fact]
    public void Compare_EqualOutputs_Zero()
    {
        var served = Read(ShadowAnswers.Json(("y", [2, 3], Values), ("z", [1], [4f])));
        var shadow = Read(ShadowAnswers.Json(("z", [1], [4f]), ("y", [2, 3], Values)));

        var comparison = OutputDivergence.Compare(served, shadow);

        Assert.Equal(0d, comparison.Divergence);
        Assert.Null(comparison.Mismatch);
    }

    [Theory]
    [InlineData(1.5f, 0.5)]
    [InlineData(3f, 2.0)]
    [InlineData(0f, 1.0)]
    [InlineData(-1f, 2.0)]
    public void Compare_ScaledOutputs_TheRelativeL2Distance(float scale, double expected)
    {
        // b = s * a over both outputs: ||a - b|| / ||a|| = |1 - s|.
        var served = Read(ShadowAnswers.Json(("y", [2, 3], [1f, 2f, 3f, 4f, 5f, 6f]), ("z", [2], [-1f, 0.5f])));
        var shadow = Read(ShadowAnswers.Json(("y", [2, 3], [1f * scale, 2f * scale, 3f * scale, 4f * scale, 5f * scale, 6f * scale]), ("z", [2], [-1f * scale, 0.5f * scale])));

        var comparison = OutputDivergence.Compare(served, shadow);

        Assert.Equal(expected, comparison.Divergence, 1e-15);
        Assert.Null(comparison.Mismatch);
    }

    [Fact]
    public void Compare_OneElementOff_TheDistanceOverAllOutputsConcatenatedByName()
    {
        // a = (3, 4 | 0) has norm 5; the shadow differs by 1 in one element of the second output.
        var served = Read(ShadowAnswers.Json(("b", [1], [0f]), ("a", [2], [3f, 4f])));
        var shadow = Read(ShadowAnswers.Json(("a", [2], [3f, 4f]), ("b", [1], [1f])));

        Assert.Equal(0.2, OutputDivergence.Compare(served, shadow).Divergence, 1e-15);
    }

    [Fact]
    public void Compare_CallersOutputsAllZero_AbsoluteDistanceOverTheMinimumNorm()
    {
        var served = Read(ShadowAnswers.Json(("y", [2], [0f, 0f])));
        var shadow = Read(ShadowAnswers.Json(("y", [2], [0f, 1e-13f])));

        Assert.Equal(1e-13f / OutputDivergence.MinNorm, OutputDivergence.Compare(served, shadow).Divergence, 1e-6);
    }

    [Fact]
    public void Compare_BinaryAndJsonFormsOfTheSameTensors_Zero()
    {
        var json = Read(ShadowAnswers.Json(("y", [2, 3], Values), ("z", [1], [float.NaN])));
        var (body, headerLength) = ShadowAnswers.Binary(("y", [2, 3], Values), ("z", [1], [float.NaN]));
        var binary = InferAnswerReader.Read(body, headerLength);

        var comparison = OutputDivergence.Compare(json, binary);

        Assert.Equal(0d, comparison.Divergence);
        Assert.Null(comparison.Mismatch);
    }

    [Fact]
    public void Compare_MismatchedNames_InfinityAndTheReason()
    {
        var served = Read(ShadowAnswers.Json(("y", [2], [1f, 2f])));
        var renamed = Read(ShadowAnswers.Json(("out", [2], [1f, 2f])));
        var extra = Read(ShadowAnswers.Json(("y", [2], [1f, 2f]), ("z", [1], [0f])));

        Assert.Equal(ShadowComparison.Mismatched(OutputDivergence.Names), OutputDivergence.Compare(served, renamed));
        Assert.Equal(ShadowComparison.Mismatched(OutputDivergence.Names), OutputDivergence.Compare(served, extra));
        Assert.Equal(ShadowComparison.Mismatched(OutputDivergence.Names), OutputDivergence.Compare(extra, served));
        Assert.Equal(double.PositiveInfinity, OutputDivergence.Compare(served, renamed).Divergence);
    }

    [Fact]
    public void Compare_MismatchedShape_InfinityAndTheReason()
    {
        var served = Read(ShadowAnswers.Json(("y", [2, 2], [1f, 2f, 3f, 4f])));
        var shadow = Read(ShadowAnswers.Json(("y", [4], [1f, 2f, 3f, 4f])));

        Assert.Equal(ShadowComparison.Mismatched(OutputDivergence.Shape), OutputDivergence.Compare(served, shadow));
    }

    [Fact]
    public void Compare_MismatchedDatatype_InfinityAndTheReason()
    {
        var served = Read(ShadowAnswers.Json(("y", [2], [1f, 2f])));
        var shadow = Read(Encoding.UTF8.GetBytes("""{"outputs":[{"name":"y","datatype":"FP64","shape":[2],"data":[1,2]}]}"""));

        Assert.Equal(ShadowComparison.Mismatched(OutputDivergence.DataType), OutputDivergence.Compare(served, shadow));
    }

    [Fact]
    public void Compare_NaNAgainstANumber_InfinityAndTheReason()
    {
        var served = Read(ShadowAnswers.Json(("y", [2], [1f, 2f])));
        var shadow = Read(ShadowAnswers.Json(("y", [2], [1f, float.NaN])));

        Assert.Equal(ShadowComparison.Mismatched(OutputDivergence.NonFinite), OutputDivergence.Compare(served, shadow));
    }

    [Fact]
    public void Compare_BytesOutputs_EqualZeroDifferentInfinity()
    {
        var served = Read(Encoding.UTF8.GetBytes("""{"outputs":[{"name":"t","datatype":"BYTES","shape":[2],"data":["ab","c"]}]}"""));
        var header = """{"outputs":[{"name":"t","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":11}}]}"""u8.ToArray();
        var same = InferAnswerReader.Read([.. header, 2, 0, 0, 0, (byte)'a', (byte)'b', 1, 0, 0, 0, (byte)'c'], header.Length);
        var other = Read(Encoding.UTF8.GetBytes("""{"outputs":[{"name":"t","datatype":"BYTES","shape":[2],"data":["ab","d"]}]}"""));

        Assert.Equal(new ShadowComparison(0), OutputDivergence.Compare(served, same));
        Assert.Equal(ShadowComparison.Mismatched(OutputDivergence.Bytes), OutputDivergence.Compare(served, other));
    }

    private static IReadOnlyDictionary<string, InferAnswerOutput> Read(byte[] json) => InferAnswerReader.Read(json, null);
}
