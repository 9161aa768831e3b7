using System.Runtime.InteropServices;
using Google.Protobuf;
using OpenInferenceProtocol;
using ServingGateway.Inference.Grpc;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;
using ServingGateway.Inference.Tests.Protocol;

namespace ServingGateway.Inference.Tests.Grpc;

/// <summary>
/// The gRPC codec (<see cref="GrpcRequestReader"/>, <see cref="GrpcResponseWriter"/>) without a server: typed contents of
/// every datatype into the server's layout and back, raw contents as sent, and each refusal with its message.
/// </summary>
public sealed class GrpcCodecTests
{
    private const int MaxRank = InferRequestReader.DefaultMaxRank;

    // Per datatype: the typed contents a client sends, and the bytes the server's tensor holds.
    private static readonly Dictionary<TensorDataType, (Action<InferTensorContents> Fill, byte[] Expected)> Typed = new()
    {
        [TensorDataType.Bool] = (c => c.BoolContents.AddRange([true, false, true]), [1, 0, 1]),
        [TensorDataType.UInt8] = (c => c.UintContents.AddRange([0, 7, 255]), [0, 7, 255]),
        [TensorDataType.UInt16] = (c => c.UintContents.AddRange([1, 258, 65535]), [1, 0, 2, 1, 255, 255]),
        [TensorDataType.UInt32] = (c => c.UintContents.AddRange([1, 2, uint.MaxValue]), Raw<uint>(1, 2, uint.MaxValue)),
        [TensorDataType.UInt64] = (c => c.Uint64Contents.AddRange([1, 2, ulong.MaxValue]), Raw<ulong>(1, 2, ulong.MaxValue)),
        [TensorDataType.Int8] = (c => c.IntContents.AddRange([-128, 0, 127]), [128, 0, 127]),
        [TensorDataType.Int16] = (c => c.IntContents.AddRange([-1, 2, 32767]), Raw<short>(-1, 2, 32767)),
        [TensorDataType.Int32] = (c => c.IntContents.AddRange([-1, 2, int.MaxValue]), Raw(-1, 2, int.MaxValue)),
        [TensorDataType.Int64] = (c => c.Int64Contents.AddRange([-1, 2, long.MaxValue]), Raw(-1L, 2L, long.MaxValue)),
        [TensorDataType.Fp32] = (c => c.Fp32Contents.AddRange([1.5f, float.NaN, -0f]), Raw(1.5f, float.NaN, -0f)),
        [TensorDataType.Fp64] = (c => c.Fp64Contents.AddRange([1.5, double.PositiveInfinity, -2]), Raw(1.5, double.PositiveInfinity, -2)),
        [TensorDataType.Bytes] = (c => c.BytesContents.AddRange([ByteString.CopyFromUtf8("a"), ByteString.Empty, ByteString.CopyFrom(0, 255)]), Signatures.Prefixed([(byte)'a'], [], [0, 255])),
    };

    public static TheoryData<string> TypedTypes => [.. Typed.Keys.Select(t => t.ToOipName())];

    [Theory]
    [MemberData(nameof(TypedTypes))]
    public void Read_TypedContents_ServerLayout_AndWrittenBackTyped(string datatype)
    {
        Assert.True(TensorDataTypes.TryParse(datatype, out var type));
        var (fill, expected) = Typed[type];
        var request = Request(type.ToOipName(), [1, 3]);
        request.Inputs[0].Contents = new InferTensorContents();
        fill(request.Inputs[0].Contents);

        using var decoded = GrpcRequestReader.Read(request, Signatures.Single(type, 4, -1, 3), MaxRank);
        var reply = GrpcResponseWriter.Write("m", "1", null, decoded.Inputs, raw: false);

        Assert.Equal(expected, decoded.Inputs[0].Span.ToArray());
        Assert.Equal(1, decoded.BatchSize);
        Assert.Empty(reply.RawOutputContents);
        Assert.Equal(request.Inputs[0].Contents, reply.Outputs[0].Contents);
        Assert.Equal([1L, 3L], reply.Outputs[0].Shape);
        Assert.Equal(type.ToOipName(), reply.Outputs[0].Datatype);
    }

    [Theory]
    [InlineData("FP16")]
    [InlineData("BF16")]
    public void Read_HalfPrecisionTyped_RefusedSendRaw_AndAnsweredRaw(string datatype)
    {
        Assert.True(TensorDataTypes.TryParse(datatype, out var type));
        var typed = Request(type.ToOipName(), [1, 3]);
        typed.Inputs[0].Contents = new InferTensorContents();
        typed.Inputs[0].Contents.Fp32Contents.AddRange([1, 2, 3]);
        var signature = Signatures.Single(type, 4, -1, 3);

        var ex = Assert.Throws<InferenceException>(() => GrpcRequestReader.Read(typed, signature, MaxRank));
        Assert.Equal($"input 'x' is {type.ToOipName()}, which has no typed contents; send it in raw_input_contents", ex.Message);

        var raw = Request(type.ToOipName(), [1, 3], [1, 2, 3, 4, 5, 6]);
        using var decoded = GrpcRequestReader.Read(raw, signature, MaxRank);
        var reply = GrpcResponseWriter.Write("m", "1", "id-7", decoded.Inputs, raw: false); // no typed field: raw all the same
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, reply.RawOutputContents.Single().ToByteArray());
        Assert.Null(reply.Outputs[0].Contents);
        Assert.Equal("id-7", reply.Id);
    }

    [Theory]
    [InlineData("INT8", -129)]
    [InlineData("INT8", 128)]
    [InlineData("INT16", 40000)]
    public void Read_NarrowIntOutOfRange_RefusedNeverCut(string datatype, int value)
    {
        Assert.True(TensorDataTypes.TryParse(datatype, out var type));
        var request = Request(type.ToOipName(), [1, 3]);
        request.Inputs[0].Contents = new InferTensorContents();
        request.Inputs[0].Contents.IntContents.AddRange([0, value, 0]);

        var ex = Assert.Throws<InferenceException>(() => GrpcRequestReader.Read(request, Signatures.Single(type, 4, -1, 3), MaxRank));

        Assert.Equal($"input 'x' element 1 is {value}, not a valid {type.ToOipName()} value", ex.Message);
    }

    [Theory]
    [InlineData("UINT8", 256u)]
    [InlineData("UINT16", 65536u)]
    public void Read_NarrowUIntOutOfRange_RefusedNeverCut(string datatype, uint value)
    {
        Assert.True(TensorDataTypes.TryParse(datatype, out var type));
        var request = Request(type.ToOipName(), [1, 3]);
        request.Inputs[0].Contents = new InferTensorContents();
        request.Inputs[0].Contents.UintContents.AddRange([0, 0, value]);

        var ex = Assert.Throws<InferenceException>(() => GrpcRequestReader.Read(request, Signatures.Single(type, 4, -1, 3), MaxRank));

        Assert.Equal($"input 'x' element 2 is {value}, not a valid {type.ToOipName()} value", ex.Message);
    }

    [Fact]
    public void Read_Raw_CopiedAsSent_WithParametersAndOutputs()
    {
        var data = Raw(1f, 2, 3, 4, 5, 6);
        var request = Request("FP32", [2, 3], data);
        request.Id = "req-1";
        request.Parameters["timeout"] = new InferParameter { Uint64Param = 5000 };
        request.Parameters["priority"] = new InferParameter { Int64Param = 2 };
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "y" });

        using var decoded = GrpcRequestReader.Read(request, Signatures.Single(TensorDataType.Fp32, 4, -1, 3), MaxRank);

        Assert.Equal(data, decoded.Inputs[0].Span.ToArray());
        Assert.Equal([2L, 3L], decoded.Inputs[0].Shape);
        Assert.Equal(2, decoded.BatchSize);
        Assert.Equal("req-1", decoded.Id);
        Assert.Equal(5000, decoded.TimeoutMicroseconds);
        Assert.Equal(2, decoded.Priority);
        Assert.Equal([new RequestedOutput(0, Binary: false)], decoded.Outputs);
    }

    [Fact]
    public void Read_RawBytesLayoutChecked_AsTheBinaryExtension()
    {
        var request = Request("BYTES", [1, 2], [5, 0, 0, 0, (byte)'a']);

        var ex = Assert.Throws<InferenceException>(() => GrpcRequestReader.Read(request, Signatures.Single(TensorDataType.Bytes, 4, -1, 2), MaxRank));

        Assert.Equal("input 'x' has 5 bytes of raw_input_contents, which does not fit shape [1, 2] of BYTES", ex.Message);
        var lying = Request("BYTES", [1, 2], [9, 0, 0, 0, (byte)'a', 0, 0, 0, 0]);
        Assert.Equal("input 'x': binary BYTES element 0 claims 9 bytes, past the end of its data",
            Assert.Throws<InferenceException>(() => GrpcRequestReader.Read(lying, Signatures.Single(TensorDataType.Bytes, 4, -1, 2), MaxRank)).Message);
    }

    // A valid request spoiled one way, and the message that refuses it.
    private static readonly (string Message, Action<ModelInferRequest> Spoil)[] Spoiled =
    [
        ("the request has 1 inputs but 2 raw_input_contents; send one per input, in the order of inputs, or none", r => r.RawInputContents.Add(ByteString.Empty)),
        ("input 'x' is given twice", r =>
        {
            r.Inputs.Add(r.Inputs[0].Clone());
            r.RawInputContents.Add(r.RawInputContents[0]);
        }),
        ("unknown datatype \"FP8\"; use one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BF16, BYTES", r => r.Inputs[0].Datatype = "FP8"),
        ("input 'x' has no datatype", r => r.Inputs[0].Datatype = ""),
        ("shape dimensions cannot be negative (got -2)", r => r.Inputs[0].Shape[0] = -2),
        ("a shape has more than 8 dimensions (Inference:MaxRank)", r => r.Inputs[0].Shape.AddRange([1, 1, 1, 1, 1, 1, 1])),
        ("input 'x' has batch size 5; this model takes 1 to 4 (max_batch_size)", r => r.Inputs[0].Shape[0] = 5),
        ("input 'x' has typed contents but the request has raw_input_contents; send one or the other", r => r.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1 } }),
        ("unknown output 'z'; the model's outputs are 'y'", r => r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "z" })),
        ("output 'y' is requested twice", r => r.Outputs.AddRange([new() { Name = "y" }, new() { Name = "y" }])),
        ("parameter \"priority\" must be a non-negative integer", r => r.Parameters["priority"] = new InferParameter { StringParam = "2" }),
        ("parameter \"timeout\" (microseconds) must be an integer from 0 to 86400000000", r => r.Parameters["timeout"] = new InferParameter { Uint64Param = ulong.MaxValue }),
    ];

    public static TheoryData<int> Refusals => [.. Enumerable.Range(0, Spoiled.Length)];

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Read_Malformed_400WithMessage(int refusal)
    {
        var (message, spoil) = Spoiled[refusal];
        var request = Request("FP32", [1, 3], new byte[12]);
        spoil(request);

        var ex = Assert.Throws<InferenceException>(() => GrpcRequestReader.Read(request, Signatures.Single(TensorDataType.Fp32, 4, -1, 3), MaxRank));

        Assert.Equal(400, ex.StatusCode);
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Read_SameShapeErrorsAsRest()
    {
        var signature = Signatures.Single(TensorDataType.Fp32, 4, -1, 3);
        var grpc = Assert.Throws<InferenceException>(() => GrpcRequestReader.Read(Request("FP32", [1, 4], new byte[16]), signature, MaxRank));
        var rest = Assert.Throws<InferenceException>(() => InferRequestReader.Read(
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}"""u8, null, signature));

        Assert.Equal(rest.Message, grpc.Message);
    }

    private static ModelInferRequest Request(string datatype, long[] shape, byte[]? raw = null)
    {
        var request = new ModelInferRequest { ModelName = "m" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = datatype };
        input.Shape.AddRange(shape);
        request.Inputs.Add(input);
        if (raw is not null)
        {
            request.RawInputContents.Add(ByteString.CopyFrom(raw));
        }

        return request;
    }

    private static byte[] Raw<T>(params T[] values)
        where T : struct => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
