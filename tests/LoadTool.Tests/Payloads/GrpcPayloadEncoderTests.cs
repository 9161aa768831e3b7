using System.Text.Json.Nodes;
using OpenInferenceProtocol;
using ServingGateway.LoadTool.Payloads;

namespace ServingGateway.LoadTool.Tests.Payloads;

public sealed class GrpcPayloadEncoderTests
{
    [Fact]
    public void Encode_JsonRequest_RawInputContentsAreTheBinaryExtensionsBytes()
    {
        var request = JsonNode.Parse("""
            {"id":"7","parameters":{"priority":2,"binary_data_output":true},
             "inputs":[
              {"name":"x","shape":[2,2],"datatype":"FP32","data":[[0.5,1.5],[2.5,-1]],"parameters":{"binary_data_size":16}},
              {"name":"s","shape":[1],"datatype":"BYTES","data":["héllo"]}],
             "outputs":[{"name":"y","parameters":{"binary_data":true,"classification":2}}]}
            """)!.AsObject();
        var binary = PayloadEncoder.Encode(request, binary: true);

        var body = GrpcPayloadEncoder.Encode(request, "m");

        Assert.Null(body.HeaderLength);
        var message = ModelInferRequest.Parser.ParseFrom(body.Bytes);
        Assert.Equal(("m", "", "7"), (message.ModelName, message.ModelVersion, message.Id));
        Assert.Equal(["x", "s"], message.Inputs.Select(i => i.Name));
        Assert.Equal(["FP32", "BYTES"], message.Inputs.Select(i => i.Datatype));
        Assert.Equal([2L, 2L], message.Inputs[0].Shape);
        Assert.All(message.Inputs, i => Assert.Null(i.Contents));
        // The same bytes the binary extension puts after its JSON header, one entry per input.
        var tensors = binary.Bytes.AsSpan(binary.HeaderLength!.Value).ToArray();
        Assert.Equal(tensors, message.RawInputContents.SelectMany(c => c.ToByteArray()));
        Assert.Equal([16, 10], message.RawInputContents.Select(c => c.Length));
        // Parameters kept, the REST-only binary ones left out.
        Assert.Equal(2, message.Parameters["priority"].Int64Param);
        Assert.Equal(["priority"], message.Parameters.Keys);
        Assert.Empty(message.Inputs[0].Parameters);
        var output = Assert.Single(message.Outputs);
        Assert.Equal("y", output.Name);
        Assert.Equal(["classification"], output.Parameters.Keys);
    }

    [Fact]
    public void Encode_InputWithoutData_Throws()
    {
        var request = JsonNode.Parse("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}""")!.AsObject();

        var error = Assert.Throws<LoadToolException>(() => GrpcPayloadEncoder.Encode(request, "m"));

        Assert.Equal("every input needs \"data\" to be sent over gRPC", error.Message);
    }
}
