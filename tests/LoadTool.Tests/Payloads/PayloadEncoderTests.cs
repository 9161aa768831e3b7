using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using ServingGateway.LoadTool.Payloads;

namespace ServingGateway.LoadTool.Tests.Payloads;

public sealed class PayloadEncoderTests
{
    [Fact]
    public void Encode_Json_IsTheRequestAsIs()
    {
        var request = JsonNode.Parse("""{"id":"7","inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[0.5,1.5]}]}""")!.AsObject();

        var body = PayloadEncoder.Encode(request, binary: false);

        Assert.Null(body.HeaderLength);
        Assert.Equal(request.ToJsonString(), Encoding.UTF8.GetString(body.Bytes));
        Assert.Equal("application/json", body.CreateContent().Headers.ContentType!.MediaType);
    }

    [Fact]
    public void Encode_Binary_MovesNestedDataAfterTheHeaderAsLittleEndian()
    {
        var request = JsonNode.Parse("""
            {"id":"7","inputs":[
              {"name":"x","shape":[2,2],"datatype":"FP32","data":[[0.5,1.5],[2.5,-1]]},
              {"name":"ids","shape":[1,2],"datatype":"INT64","data":[3,300]}],
             "outputs":[{"name":"y"}]}
            """)!.AsObject();

        var body = PayloadEncoder.Encode(request, binary: true);

        var headerLength = Assert.IsType<int>(body.HeaderLength);
        var header = JsonNode.Parse(body.Bytes.AsSpan(0, headerLength))!;
        Assert.Equal("7", header["id"]!.GetValue<string>());
        Assert.True(header["parameters"]!["binary_data_output"]!.GetValue<bool>());
        Assert.Equal(16, header["inputs"]![0]!["parameters"]!["binary_data_size"]!.GetValue<int>());
        Assert.Equal(16, header["inputs"]![1]!["parameters"]!["binary_data_size"]!.GetValue<int>());
        Assert.Null(header["inputs"]![0]!["data"]);
        Assert.Equal("y", header["outputs"]![0]!["name"]!.GetValue<string>());
        var tensors = body.Bytes.AsSpan(headerLength);
        Assert.Equal(32, tensors.Length);
        Assert.Equal([0.5f, 1.5f, 2.5f, -1f], Enumerable.Range(0, 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(body.Bytes.AsSpan(headerLength + (4 * i)))));
        Assert.Equal(300, BinaryPrimitives.ReadInt64LittleEndian(tensors[24..]));
        var content = body.CreateContent();
        Assert.Equal(headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture), content.Headers.GetValues(InferRequestBody.HeaderLengthHeader).Single());
    }

    [Fact]
    public void Encode_BinaryBytes_AreLengthPrefixed()
    {
        var request = JsonNode.Parse("""{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","data":["héllo"]}]}""")!.AsObject();

        var body = PayloadEncoder.Encode(request, binary: true);

        var tensor = body.Bytes.AsSpan(body.HeaderLength!.Value);
        Assert.Equal(6, BinaryPrimitives.ReadInt32LittleEndian(tensor));
        Assert.Equal("héllo", Encoding.UTF8.GetString(tensor[4..]));
    }

    [Fact]
    public void Encode_BinaryWithoutData_Throws()
    {
        var request = JsonNode.Parse("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}""")!.AsObject();

        Assert.Throws<LoadToolException>(() => PayloadEncoder.Encode(request, binary: true));
    }
}
