using System.Buffers;
using Google.Protobuf;
using OpenInferenceProtocol;
using ServingGateway.LoadTool.Load;

namespace ServingGateway.LoadTool.Tests.Load;

public sealed class GrpcModelVersionTests
{
    [Theory]
    [InlineData("mlp", "2")]
    [InlineData("", "12")]
    [InlineData("a-model-name-long-enough-to-need-a-two-byte-length-prefix-a-model-name-long-enough-to-need-a-two-byte-length-prefix-a-model-name", "3")]
    public void ModelVersionOf_AnEncodedResponse_ItsModelVersion(string name, string version)
    {
        var response = new ModelInferResponse { ModelName = name, ModelVersion = version, Id = "x" };
        response.Outputs.Add(new ModelInferResponse.Types.InferOutputTensor { Name = "y", Datatype = "FP32", Shape = { 1, 1 } });
        response.RawOutputContents.Add(ByteString.CopyFrom(new byte[4096]));

        Assert.Equal(version, GrpcRequestSender.ModelVersionOf(new ReadOnlySequence<byte>(response.ToByteArray())));
    }

    [Fact]
    public void ModelVersionOf_NoVersionOrNotAResponse_Null()
    {
        Assert.Null(GrpcRequestSender.ModelVersionOf(new ReadOnlySequence<byte>(new ModelInferResponse { ModelName = "mlp", Id = "x" }.ToByteArray())));
        Assert.Null(GrpcRequestSender.ModelVersionOf(new ReadOnlySequence<byte>([0xFF, 0xFF, 0xFF])));
        Assert.Null(GrpcRequestSender.ModelVersionOf(ReadOnlySequence<byte>.Empty));
    }
}
