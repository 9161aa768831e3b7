using System.Buffers.Binary;
using System.Text;
using ServingGateway.Deployments.Shadow;

namespace ServingGateway.Gateway.Tests.Deployments.Shadow;

public sealed class InferAnswerReaderTests
{
    [Fact]
    public void Read_NestedJsonData_FlattenedRowMajor()
    {
        var outputs = Read("""{"id":"x","outputs":[{"shape":[2,2],"data":[[1.5,2],[3,"-Infinity"]],"name":"y","datatype":"FP32"}],"model_name":"m"}""");

        var y = outputs["y"];
        Assert.Equal("FP32", y.DataType);
        Assert.Equal([2L, 2L], y.Shape);
        Assert.Equal([1.5, 2, 3, double.NegativeInfinity], y.Values);
    }

    [Theory]
    [InlineData("BOOL", "[true,false]", new byte[] { 1, 0 })]
    [InlineData("INT8", "[-3,4]", new byte[] { 0xFD, 4 })]
    [InlineData("UINT16", "[65535,1]", new byte[] { 0xFF, 0xFF, 1, 0 })]
    [InlineData("INT32", "[-2,7]", new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 7, 0, 0, 0 })]
    [InlineData("FP16", "[0.1,-2]", new byte[] { 0x66, 0x2E, 0x00, 0xC0 })] // Half 0.1 is 0x2E66
    [InlineData("BF16", "[0.1015625,-2]", new byte[] { 0xD0, 0x3D, 0x00, 0xC0 })] // bfloat16 0x3DD0 is 0.1015625
    public void Read_JsonAndBinaryFormsOfOneTensor_SameValues(string dataType, string data, byte[] bytes)
    {
        var json = Read($$"""{"outputs":[{"name":"y","datatype":"{{dataType}}","shape":[2],"data":{{data}}}]}""");
        var header = Encoding.UTF8.GetBytes($$"""{"outputs":[{"name":"y","datatype":"{{dataType}}","shape":[2],"parameters":{"binary_data_size":{{bytes.Length}}""" + "}}]}");
        var binary = InferAnswerReader.Read([.. header, .. bytes], header.Length);

        Assert.Equal(json["y"].Values, binary["y"].Values);
        Assert.Equal(2, binary["y"].Values.Length);
    }

    [Fact]
    public void Read_JsonAndBinaryOutputsMixed_EachFromItsPlace()
    {
        var header = Encoding.UTF8.GetBytes("""{"outputs":[{"name":"a","datatype":"FP64","shape":[1],"parameters":{"binary_data_size":8}},{"name":"b","datatype":"INT64","shape":[1],"data":[5]},{"name":"c","datatype":"UINT8","shape":[2],"parameters":{"binary_data_size":2}}]}""");
        var a = new byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(a, -0.25);

        var outputs = InferAnswerReader.Read([.. header, .. a, 9, 200], header.Length);

        Assert.Equal([-0.25], outputs["a"].Values);
        Assert.Equal([5d], outputs["b"].Values);
        Assert.Equal([9d, 200d], outputs["c"].Values);
    }

    [Theory]
    [InlineData("""[1,2]""", null)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[3],"data":[1,2]}]}""", null)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[1,"two"]}]}""", null)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[2]}]}""", null)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"COMPLEX","shape":[1],"data":[1]}]}""", null)]
    [InlineData("""{"outputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}""", null)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1]},{"name":"y","datatype":"FP32","shape":[1],"data":[1]}]}""", null)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1]""", null)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]}1234""", 92)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}12345""", 92)]
    [InlineData("""{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}1234""", 500)]
    public void Read_NotAnInferAnswer_FormatException(string body, int? headerLength)
    {
        Assert.Throws<InferAnswerFormatException>(() => InferAnswerReader.Read(Encoding.UTF8.GetBytes(body), headerLength));
    }

    private static IReadOnlyDictionary<string, InferAnswerOutput> Read(string json) => InferAnswerReader.Read(Encoding.UTF8.GetBytes(json), null);
}
