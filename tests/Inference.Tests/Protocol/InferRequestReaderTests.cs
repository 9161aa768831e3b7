using System.Runtime.InteropServices;
using System.Text;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Tensors;
using static ServingGateway.Inference.Tests.Protocol.Signatures;

namespace ServingGateway.Inference.Tests.Protocol;

public class InferRequestReaderTests
{
    private static InferRequest Read(string json, ModelSignature? signature = null) =>
        InferRequestReader.Read(Encoding.UTF8.GetBytes(json), null, signature ?? Mlp());

    private static string Floats(int count, float value = 0.5f) =>
        string.Join(",", Enumerable.Repeat(value.ToString(System.Globalization.CultureInfo.InvariantCulture), count));

    private static InferenceException ReadFails(string json, ModelSignature? signature = null) =>
        Assert.Throws<InferenceException>(() => Read(json, signature));

    [Fact]
    public void Read_FlatFp32_DecodesValuesAndEchoesId()
    {
        using var request = Read($$"""{"id":"req-7","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Floats(64, 1.25f)}}]}]}""");

        Assert.Equal("req-7", request.Id);
        Assert.Equal(1, request.BatchSize);
        var input = Assert.Single(request.Inputs);
        Assert.Equal([1L, 64L], input.Shape);
        Assert.Equal(64 * 4, input.Length);
        Assert.All(MemoryMarshal.Cast<byte, float>(input.Span).ToArray(), v => Assert.Equal(1.25f, v));
        Assert.Equal([new RequestedOutput(0, false)], request.Outputs);
    }

    [Fact]
    public void Read_NestedData_EqualsFlatData()
    {
        var rows = Enumerable.Range(0, 2).Select(r => "[" + string.Join(",", Enumerable.Range(0, 64).Select(c => (r * 64) + c)) + "]");
        using var nested = Read($$"""{"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","data":[{{string.Join(",", rows)}}]}]}""");
        using var flat = Read($$"""{"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","data":[{{string.Join(",", Enumerable.Range(0, 128))}}]}]}""");

        Assert.Equal(flat.Inputs[0].Span.ToArray(), nested.Inputs[0].Span.ToArray());
        Assert.Equal(2, nested.BatchSize);
    }

    [Fact]
    public void Read_DataBeforeShapeAndDatatype_StillDecodes()
    {
        using var request = Read($$"""{"inputs":[{"data":[{{Floats(64)}}],"datatype":"FP32","name":"input","shape":[1,64]}]}""");

        Assert.Equal(0.5f, MemoryMarshal.Cast<byte, float>(request.Inputs[0].Span)[63]);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("{", "malformed JSON")]
    [InlineData("[1,2]", "JSON object")]
    [InlineData("{\"inputs\":[]} trailing", "malformed JSON")]
    [InlineData("{\"id\":5,\"inputs\":[]}", "\"id\" must be a string")]
    [InlineData("{}", "no \"inputs\"")]
    [InlineData("{\"inputs\":[]}", "missing input 'input'")]
    [InlineData("{\"inputs\":{}}", "\"inputs\" must be an array")]
    [InlineData("{\"inputs\":[5]}", "must be an object")]
    public void Read_MalformedRequest_Is400(string json, string expected)
    {
        var ex = ReadFails(json);

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name":"nope","shape":[1,64],"datatype":"FP32","data":[0]}""", "unknown input 'nope'")]
    [InlineData("""{"shape":[1,64],"datatype":"FP32","data":[0]}""", "has no \"name\"")]
    [InlineData("""{"name":"input","shape":[1,64],"data":[0]}""", "has no \"datatype\"")]
    [InlineData("""{"name":"input","datatype":"FP32","data":[0]}""", "has no \"shape\"")]
    [InlineData("""{"name":"input","shape":[1,64],"datatype":"FP32"}""", "no \"data\"")]
    [InlineData("""{"name":"input","shape":[1,64],"datatype":"FP33","data":[0]}""", "unknown datatype \"FP33\"")]
    [InlineData("""{"name":"input","shape":[1,64],"datatype":"fp32","data":[0]}""", "unknown datatype \"fp32\"")]
    [InlineData("""{"name":"input","shape":[1,64],"datatype":"FP64","data":[0]}""", "is FP64 but the model expects FP32")]
    [InlineData("""{"name":"input","shape":[1,63],"datatype":"FP32","data":[0]}""", "expects [-1, 64]")]
    [InlineData("""{"name":"input","shape":[64],"datatype":"FP32","data":[0]}""", "expects [-1, 64]")]
    [InlineData("""{"name":"input","shape":[1,-64],"datatype":"FP32","data":[0]}""", "cannot be negative")]
    [InlineData("""{"name":"input","shape":[1.5,64],"datatype":"FP32","data":[0]}""", "array of integers")]
    [InlineData("""{"name":"input","shape":[99999999999999999999,64],"datatype":"FP32","data":[0]}""", "array of integers")]
    [InlineData("""{"name":"input","shape":[65,64],"datatype":"FP32","data":[0]}""", "max_batch_size")]
    [InlineData("""{"name":"input","shape":[0,64],"datatype":"FP32","data":[]}""", "batch size 0")]
    [InlineData("""{"name":"input","shape":[1,64],"datatype":"FP32","data":[1,2,3]}""", "(64 elements) but its data holds at most")]
    [InlineData("""{"name":"input","shape":[1,64],"datatype":"FP32","data":5}""", "\"data\" must be an array")]
    public void Read_InputNotFittingModel_Is400(string input, string expected)
    {
        var ex = ReadFails($$"""{"inputs":[{{input}}]}""");

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SameInputTwice_Is400()
    {
        var input = $$"""{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Floats(64)}}]}""";

        var ex = ReadFails($$"""{"inputs":[{{input}},{{input}}]}""");

        Assert.Contains("given twice", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1000000000,64]", "larger than any request can carry")]
    [InlineData("[1000000,64]", "(64000000 elements) but its data holds at most 7")]
    public void Read_HugeDeclaredShapeWithLittleData_IsRefusedBeforeAllocating(string shape, string expected)
    {
        var signature = Single(TensorDataType.Fp32, 0, -1, -1);

        var ex = ReadFails($$"""{"inputs":[{"name":"x","shape":{{shape}},"datatype":"FP32","data":[1,2,3]}]}""", signature);

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ShapeWhoseProductOverflows_Is400()
    {
        var signature = Single(TensorDataType.Fp32, 0, -1, -1, -1);

        var ex = ReadFails("""{"inputs":[{"name":"x","shape":[4294967296,4294967296,4294967296],"datatype":"FP32","data":[1]}]}""", signature);

        Assert.Contains("larger than any request can carry", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"NaN\"")]
    [InlineData("\"Infinity\"")]
    [InlineData("\"-Infinity\"")]
    [InlineData("\"1.0\"")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("1e39")]
    public void Read_NonFiniteOrNonNumberFp32_Is400(string element)
    {
        var data = Floats(63) + "," + element;

        var ex = ReadFails($$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{data}}]}]}""");

        Assert.Contains("element 63", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not a valid FP32 value", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[[1,2,3],[4,5,6],[7,8,9]]", "has more than 2 entries at nesting level 1")]
    [InlineData("[[1,2],[3,4],[5,6]]", "has 2 entries at nesting level 2")]
    [InlineData("[[1,2,3],[4,5]]", "has 2 entries at nesting level 2")]
    [InlineData("[[1,2,3],4]", "scalar at nesting level 1")]
    [InlineData("[1,2,3,[4,5,6]]", "mixes nested arrays")]
    [InlineData("[[[1],[2],[3]],[[4],[5],[6]]]", "nested deeper than its rank")]
    [InlineData("[[1,2,3,4],[5,6]]", "has more than 3 entries at nesting level 2")]
    [InlineData("[{\"a\":1},2,3,4,5,6]", "mixes nested arrays")]
    public void Read_WrongNesting_Is400(string data, string expected)
    {
        var signature = Single(TensorDataType.Int32, 0, 2, 3);

        var ex = ReadFails($$"""{"inputs":[{"name":"x","shape":[2,3],"datatype":"INT32","data":{{data}}}]}""", signature);

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_JsonNestedDeeperThanLimit_Is400()
    {
        var deep = new string('[', 100) + new string(']', 100);

        var ex = ReadFails($$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":{{deep}}}]}""");

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("malformed JSON", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UINT8", "256")]
    [InlineData("UINT8", "-1")]
    [InlineData("INT8", "128")]
    [InlineData("INT16", "32768")]
    [InlineData("UINT16", "65536")]
    [InlineData("INT32", "2147483648")]
    [InlineData("UINT32", "4294967296")]
    [InlineData("INT64", "9223372036854775808")]
    [InlineData("UINT64", "18446744073709551616")]
    [InlineData("INT32", "1.5")]
    [InlineData("FP16", "65520")]
    [InlineData("FP64", "1e400")]
    [InlineData("BF16", "3.4e38")]
    [InlineData("BOOL", "1")]
    [InlineData("BYTES", "1")]
    public void Read_ValueOutOfRangeForDatatype_Is400(string name, string element)
    {
        Assert.True(TensorDataTypes.TryParse(System.Text.Encoding.ASCII.GetBytes(name), out var type));
        var signature = Single(type, 0, 1);

        var ex = ReadFails($$"""{"inputs":[{"name":"x","shape":[1],"datatype":"{{name}}","data":[{{element}}]}]}""", signature);

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("element 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EveryDatatypeAtItsLimits_DecodesLittleEndian()
    {
        byte[] Decode(TensorDataType type, string data, int count)
        {
            using var request = Read($$"""{"inputs":[{"name":"x","shape":[{{count}}],"datatype":"{{type.ToOipName()}}","data":[{{data}}]}]}""", Single(type, 0, count));
            return request.Inputs[0].Span.ToArray();
        }

        Assert.Equal([1, 0], Decode(TensorDataType.Bool, "true,false", 2));
        Assert.Equal([0, 255], Decode(TensorDataType.UInt8, "0,255", 2));
        Assert.Equal([0x80, 0x7F], Decode(TensorDataType.Int8, "-128,127", 2));
        Assert.Equal(BitConverter.GetBytes(ushort.MaxValue), Decode(TensorDataType.UInt16, "65535", 1));
        Assert.Equal(BitConverter.GetBytes(short.MinValue), Decode(TensorDataType.Int16, "-32768", 1));
        Assert.Equal(BitConverter.GetBytes(uint.MaxValue), Decode(TensorDataType.UInt32, "4294967295", 1));
        Assert.Equal(BitConverter.GetBytes(int.MinValue), Decode(TensorDataType.Int32, "-2147483648", 1));
        Assert.Equal(BitConverter.GetBytes(ulong.MaxValue), Decode(TensorDataType.UInt64, "18446744073709551615", 1));
        Assert.Equal(BitConverter.GetBytes(long.MinValue), Decode(TensorDataType.Int64, "-9223372036854775808", 1));
        Assert.Equal(BitConverter.GetBytes((Half)0.1), Decode(TensorDataType.Fp16, "0.1", 1));
        Assert.Equal(BitConverter.GetBytes(Half.MaxValue), Decode(TensorDataType.Fp16, "65504", 1));
        Assert.Equal(BitConverter.GetBytes(3.4028235e38f), Decode(TensorDataType.Fp32, "3.4028235e38", 1));
        Assert.Equal(BitConverter.GetBytes(double.MaxValue), Decode(TensorDataType.Fp64, "1.7976931348623157e308", 1));
        Assert.Equal(BitConverter.GetBytes((ushort)0x3F80), Decode(TensorDataType.Bf16, "1", 1));
        Assert.Equal(BitConverter.GetBytes((ushort)0x4049), Decode(TensorDataType.Bf16, "3.14159", 1));
    }

    [Fact]
    public void Read_BytesFromJson_UsesLengthPrefixedLayout()
    {
        using var request = Read("""{"inputs":[{"name":"x","shape":[3],"datatype":"BYTES","data":["ab","","\u00e9\n"]}]}""", Single(TensorDataType.Bytes, 0, 3));

        Assert.Equal(Prefixed("ab"u8.ToArray(), [], "\u00e9\n"u8.ToArray()), request.Inputs[0].Span.ToArray());
    }

    [Fact]
    public void Read_BinaryInput_TakesBytesAfterHeader()
    {
        var values = Enumerable.Range(0, 64).Select(i => i / 8f).ToArray();
        var header = """{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}],"parameters":{"binary_data_output":true}}""";
        var body = Encoding.UTF8.GetBytes(header).Concat(MemoryMarshal.AsBytes(values.AsSpan()).ToArray()).ToArray();

        using var request = InferRequestReader.Read(body, Encoding.UTF8.GetByteCount(header), Mlp());

        Assert.Equal(values, MemoryMarshal.Cast<byte, float>(request.Inputs[0].Span).ToArray());
        Assert.True(request.Outputs[0].Binary);
    }

    [Fact]
    public void Read_BinaryInputsInRequestOrder_SliceBinaryInThatOrder()
    {
        var signature = new ModelSignature([Spec("a", TensorDataType.Int32, 2), Spec("b", TensorDataType.Int32, 1)], [Spec("y", TensorDataType.Int32, 2)], 0);
        var header = """{"inputs":[{"name":"b","shape":[1],"datatype":"INT32","parameters":{"binary_data_size":4}},{"name":"a","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}}]}""";
        int[] binary = [30, 10, 20];
        var body = Encoding.UTF8.GetBytes(header).Concat(MemoryMarshal.AsBytes(binary.AsSpan()).ToArray()).ToArray();

        using var request = InferRequestReader.Read(body, Encoding.UTF8.GetByteCount(header), signature);

        Assert.Equal([10, 20], MemoryMarshal.Cast<byte, int>(request.Inputs[0].Span).ToArray());
        Assert.Equal([30], MemoryMarshal.Cast<byte, int>(request.Inputs[1].Span).ToArray());
    }

    [Theory]
    [InlineData(255, 0, "does not fit shape")]
    [InlineData(256, 4, "add up to 256 bytes but 260 bytes follow")]
    [InlineData(256, -4, "add up to 256 bytes but 252 bytes follow")]
    public void Read_BinarySizeMismatch_Is400(int declared, int extra, string expected)
    {
        var header = $$$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":{{{declared}}}}}]}""";
        var body = Encoding.UTF8.GetBytes(header).Concat(new byte[256 + extra]).ToArray();

        var ex = Assert.Throws<InferenceException>(() => InferRequestReader.Read(body, Encoding.UTF8.GetByteCount(header), Mlp()));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(9223372036854775807L, 9223372036854775807L, 14L)]
    [InlineData(4611686018427387904L, 4611686018427387904L, 9223372036854775807L)]
    [InlineData(9223372036854775807L, 12L, 12L)]
    public void Read_ThreeBinarySizesWhoseSumOverflows_Is400(long first, long second, long third)
    {
        // Three BYTES inputs: binary_data_size is only bounded below by the shape there. The first row
        // wraps to exactly the 12 bytes sent (2^63-1 + 2^63-1 + 14 = 12 mod 2^64).
        var signature = new ModelSignature([Spec("a", TensorDataType.Bytes, 1), Spec("b", TensorDataType.Bytes, 1), Spec("c", TensorDataType.Bytes, 1)], [Spec("y", TensorDataType.Bytes, 1)], 0);
        var header = $$$"""{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{first}}}}},{"name":"b","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{second}}}}},{"name":"c","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{third}}}}}]}""";
        var json = Encoding.UTF8.GetBytes(header);
        var body = json.Concat(Prefixed([], [], [])).ToArray();

        var ex = Assert.Throws<InferenceException>(() => InferRequestReader.Read(body, json.Length, signature));

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("binary_data_size", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ShapePastMaxRank_Is400WhileReadingIt()
    {
        // A million dimensions in a small body: refused at dimension 9, not read into an array first.
        var dims = string.Join(",", Enumerable.Repeat("1", 1_000_000));

        var ex = ReadFails($$"""{"inputs":[{"name":"input","shape":[{{dims}}],"datatype":"FP32","data":[1]}]}""");

        Assert.Equal("a shape has more than 8 dimensions (Inference:MaxRank)", ex.Message);
    }

    [Fact]
    public void Read_ShapeAtMaxRank_IsReadAndComparedWithTheModel()
    {
        var ex = ReadFails("""{"inputs":[{"name":"input","shape":[1,2,3,4,5,6,7,8],"datatype":"FP32","data":[1]}]}""");

        Assert.Contains("has shape [1, 2, 3, 4, 5, 6, 7, 8] but the model expects [-1, 64]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"NAME","shape":[1,64],"datatype":"FP32","data":[1]}]}""")]
    [InlineData("""{"inputs":[{"name":"input","shape":[1,64],"datatype":"NAME","data":[1]}]}""")]
    [InlineData("""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[1]}],"outputs":[{"name":"NAME"}]}""")]
    public void Read_HugeNameInError_IsClipped(string template)
    {
        var ex = ReadFails(template.Replace("NAME", new string('n', 100_000), StringComparison.Ordinal));

        Assert.Contains(new string('n', 64) + "... (100000 bytes)", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 400, ex.Message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("\"timeout\":86400000001", "\"timeout\" (microseconds) must be an integer from 0 to 86400000000")]
    [InlineData("\"timeout\":9223372036854775807", "\"timeout\" (microseconds) must be an integer from 0 to 86400000000")]
    [InlineData("\"timeout\":1.5", "\"timeout\" (microseconds) must be an integer from 0 to 86400000000")]
    [InlineData("\"priority\":-1", "\"priority\" must be a non-negative integer")]
    [InlineData("\"priority\":\"x\"", "\"priority\" must be a non-negative integer")]
    public void Read_TimeoutOrPriorityOutOfRange_Is400NamingIt(string parameter, string expected)
    {
        var ex = ReadFails($$"""{"parameters":{{{parameter}}},"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Floats(64)}}]}]}""");

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TimeoutOfOneDay_IsAccepted()
    {
        using var request = Read($$"""{"parameters":{"timeout":86400000000},"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Floats(64)}}]}]}""");

        Assert.Equal(86_400_000_000, request.TimeoutMicroseconds);
    }

    [Fact]
    public void Read_BinaryDataSizeWithoutHeaderLength_Is400()
    {
        var ex = ReadFails("""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}]}""");

        Assert.Contains("Inference-Header-Content-Length", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100000)]
    public void Read_HeaderLengthOutsideBody_Is400(int headerLength)
    {
        var ex = Assert.Throws<InferenceException>(() => InferRequestReader.Read("{}"u8, headerLength, Mlp()));

        Assert.Contains("Inference-Header-Content-Length", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BinaryBoolOtherThanZeroOrOne_Is400()
    {
        var header = """{"inputs":[{"name":"x","shape":[2],"datatype":"BOOL","parameters":{"binary_data_size":2}}]}""";
        var body = Encoding.UTF8.GetBytes(header).Concat(new byte[] { 1, 2 }).ToArray();

        var ex = Assert.Throws<InferenceException>(() => InferRequestReader.Read(body, Encoding.UTF8.GetByteCount(header), Single(TensorDataType.Bool, 0, 2)));

        Assert.Contains("other than 0 and 1", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[] { 2, 0, 0, 0, 65, 66, 9, 0, 0, 0 }, "past the end")]
    [InlineData(new byte[] { 2, 0, 0, 0, 65, 66, 0, 0 }, "length prefix")]
    [InlineData(new byte[] { 2, 0, 0, 0, 65, 66, 0, 0, 0, 0, 7, 7 }, "after its 2 elements")]
    public void Read_BinaryBytesWithBadLengthPrefixes_Is400(byte[] binary, string expected)
    {
        var header = $$$"""{"inputs":[{"name":"x","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":{{{binary.Length}}}}}]}""";
        var body = Encoding.UTF8.GetBytes(header).Concat(binary).ToArray();

        var ex = Assert.Throws<InferenceException>(() => InferRequestReader.Read(body, Encoding.UTF8.GetByteCount(header), Single(TensorDataType.Bytes, 0, 2)));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OutputsSubsetWithBinaryFlags_ResolvesIndexesAndFlags()
    {
        var signature = new ModelSignature([Spec("x", TensorDataType.Fp32, 1)], [Spec("a", TensorDataType.Fp32, 1), Spec("b", TensorDataType.Fp32, 1)], 0);

        using var request = Read("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"b","parameters":{"binary_data":true}},{"name":"a"}]}""", signature);

        Assert.Equal([new RequestedOutput(1, true), new RequestedOutput(0, false)], request.Outputs);
    }

    [Theory]
    [InlineData("""[{"name":"zzz"}]""", "unknown output 'zzz'")]
    [InlineData("""[{"name":"output"},{"name":"output"}]""", "requested twice")]
    [InlineData("""[{"parameters":{}}]""", "has no \"name\"")]
    [InlineData("""[{"name":"output","parameters":{"classification":3}}]""", "classification extension")]
    [InlineData("""[{"name":"output","parameters":{"binary_data":"yes"}}]""", "true or false")]
    public void Read_BadOutputs_Is400(string outputs, string expected)
    {
        var ex = ReadFails($$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Floats(64)}}]}],"outputs":{{outputs}}}""");

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_TimeoutAndPriorityParameters_AreKept()
    {
        using var request = Read($$$"""{"parameters":{"timeout":1500,"priority":2,"custom":{"x":[1]}},"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{{Floats(64)}}}]}]}""");

        Assert.Equal(1500, request.TimeoutMicroseconds);
        Assert.Equal(2, request.Priority);
    }

    [Fact]
    public void Read_InputsDisagreeOnSymbolicDimension_Is400()
    {
        var signature = new ModelSignature(
            [
                Symbolic("ids", TensorDataType.Int64, [-1, -1], ["batch", "sequence"]),
                Symbolic("mask", TensorDataType.Int64, [-1, -1], ["batch", "sequence"]),
            ],
            [Spec("y", TensorDataType.Fp32, -1, 4)],
            8);

        var ex = ReadFails("""{"inputs":[{"name":"ids","shape":[1,3],"datatype":"INT64","data":[1,2,3]},{"name":"mask","shape":[1,2],"datatype":"INT64","data":[1,1]}]}""", signature);

        Assert.Contains("disagree on dimension 'sequence' (3 and 2)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_InputsDisagreeOnBatchSize_Is400()
    {
        var signature = new ModelSignature([Spec("a", TensorDataType.Int32, -1, 1), Spec("b", TensorDataType.Int32, -1, 1)], [Spec("y", TensorDataType.Int32, -1, 1)], 8);

        var ex = ReadFails("""{"inputs":[{"name":"a","shape":[2,1],"datatype":"INT32","data":[1,2]},{"name":"b","shape":[3,1],"datatype":"INT32","data":[1,2,3]}]}""", signature);

        Assert.Contains("disagree on the batch size", ex.Message, StringComparison.Ordinal);
    }
}
