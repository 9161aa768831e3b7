using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Google.Protobuf;
using ServingGateway.Routing;

namespace ServingGateway.Gateway.Tests.Routing;

/// <summary>
/// The model name of a gRPC request, read from the first bytes of its body: every field layout the protocol's
/// messages have, cut anywhere, compressed, with a huge length, not UTF-8, without the field; and the peek leaves the
/// body whole for the handler.
/// </summary>
public sealed class GrpcModelNameTests
{
    // A ModelInferRequest as Google.Protobuf writes it: model_name (1), model_version (2), id (3), parameters (4),
    // inputs (5), raw_input_contents (7).
    private static byte[] InferMessage(string model, int rawBytes = 256) => Message(w =>
    {
        String(w, 1, model);
        String(w, 2, "1");
        String(w, 3, "req-7");
        Nested(w, 4, e =>
        {
            String(e, 1, "timeout");
            Nested(e, 2, v =>
            {
                v.WriteTag(2, WireFormat.WireType.Varint);
                v.WriteInt64(1000);
            });
        });
        Nested(w, 5, t =>
        {
            String(t, 1, "input");
            String(t, 2, "FP32");
            t.WriteTag(3, WireFormat.WireType.LengthDelimited);
            t.WriteBytes(ByteString.CopyFrom(2, 64)); // packed shape [1, 64]
        });
        w.WriteTag(7, WireFormat.WireType.LengthDelimited);
        w.WriteBytes(ByteString.CopyFrom(new byte[rawBytes]));
    });

    [Fact]
    public void TryRead_InferRequest_ReadsModelName()
    {
        Assert.Equal((GrpcModelNameStatus.Read, "mlp"), Read(Frame(InferMessage("mlp")), 1));

        // A message far longer than the prefix: the name comes first, so the prefix holds it.
        Assert.Equal((GrpcModelNameStatus.Read, "resnet18"), Read(Frame(InferMessage("resnet18", rawBytes: 1 << 20)), 1));
    }

    [Fact]
    public void TryRead_NameAfterFieldsOfEveryWireType_Read()
    {
        // RepositoryModelLoadRequest: repository_name (1), model_name (2), parameters (3); and before the name, fields of
        // every other wire type (varint, 64-bit, 32-bit) a newer peer might send.
        var message = Message(w =>
        {
            String(w, 1, "");
            w.WriteTag(9, WireFormat.WireType.Varint);
            w.WriteUInt64(ulong.MaxValue);
            w.WriteTag(10, WireFormat.WireType.Fixed64);
            w.WriteFixed64(42);
            w.WriteTag(11, WireFormat.WireType.Fixed32);
            w.WriteFixed32(7);
            String(w, 2, "versioned");
            Nested(w, 3, e => String(e, 1, "config"));
        });

        Assert.Equal((GrpcModelNameStatus.Read, "versioned"), Read(Frame(message), 2));
        Assert.Equal((GrpcModelNameStatus.Absent, null), Read(Frame(message), 1)); // repository_name is empty: not set
    }

    [Fact]
    public void TryRead_FieldRepeated_LastOccurrenceWinsAsInProtobuf()
    {
        var message = Message(w =>
        {
            String(w, 1, "cheap");
            String(w, 3, "id");
            String(w, 1, "expensive");
        });

        Assert.Equal((GrpcModelNameStatus.Read, "expensive"), Read(Frame(message), 1));
    }

    [Fact]
    public void TryRead_BodyInSegments_SameAnswerAtEverySplit()
    {
        var frame = Frame(InferMessage("mlp"));
        for (var split = 1; split < frame.Length; split++)
        {
            Assert.Equal((GrpcModelNameStatus.Read, "mlp"), Read(Segments(frame, split), 1, complete: true));
        }
    }

    [Fact]
    public void TryRead_TruncatedPrefix_NeedsMoreUntilTheBodyEnds()
    {
        var frame = Frame(Message(w =>
        {
            String(w, 3, "id");
            String(w, 1, "mlp");
        }));

        for (var cut = 0; cut < frame.Length; cut++)
        {
            // Arriving: wait for the rest. Ended there: the frame is short, so it is not a message to read.
            Assert.Equal((GrpcModelNameStatus.NeedMore, null), Read(frame[..cut], 1));
            Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(frame[..cut], 1, complete: true));
        }

        Assert.Equal((GrpcModelNameStatus.Read, "mlp"), Read(frame, 1));
    }

    [Fact]
    public void TryRead_CompressedFlag_NotRead()
    {
        var frame = Frame(InferMessage("mlp"));
        frame[0] = 1;
        Assert.Equal((GrpcModelNameStatus.Compressed, null), Read(frame, 1));
        frame[0] = 2;
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(frame, 1));
    }

    [Fact]
    public void TryRead_HugeLength_ReadsThePrefixOnly()
    {
        // Length 4 GiB - 1: nothing is sized by it; the prefix is read as it arrives.
        var message = InferMessage("mlp", rawBytes: 8192);
        var frame = Frame(message, length: uint.MaxValue);
        Assert.Equal((GrpcModelNameStatus.Read, "mlp"), Read(frame, 1));
        Assert.Equal((GrpcModelNameStatus.Read, "req-7"), Read(frame, 3));
        Assert.Equal((GrpcModelNameStatus.NeedMore, null), Read(frame[..1000], 3)); // id is in these bytes, a later one might be in the rest of the prefix
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(frame[..1000], 3, complete: true)); // the body ended inside the frame

        // The name after 8 KiB of tensor data: the prefix holds no name, whatever more arrives.
        var late = Frame(Message(w =>
        {
            w.WriteTag(7, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(new byte[8192]));
            String(w, 1, "mlp");
        }));
        Assert.Equal((GrpcModelNameStatus.NotInPrefix, null), Read(late, 1));
        Assert.Equal((GrpcModelNameStatus.NotInPrefix, null), Read(late[..(5 + GrpcModelName.MaxPrefixBytes)], 1));
        Assert.Equal((GrpcModelNameStatus.NeedMore, null), Read(late[..(4 + GrpcModelName.MaxPrefixBytes)], 1));
    }

    [Fact]
    public void TryRead_NotUtf8_Malformed()
    {
        var message = Message(w =>
        {
            w.WriteTag(1, WireFormat.WireType.LengthDelimited);
            w.WriteBytes(ByteString.CopyFrom(0x6D, 0xC3, 0x28)); // 0xC3 starts a two-byte sequence 0x28 does not continue
        });

        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(Frame(message), 1));
    }

    [Fact]
    public void TryRead_FieldMissing_Absent()
    {
        Assert.Equal((GrpcModelNameStatus.Absent, null), Read(Frame(Message(w => String(w, 2, "1"))), 1));
        Assert.Equal((GrpcModelNameStatus.Absent, null), Read(Frame([]), 1)); // ModelStatistics of every model: an empty message
        Assert.Equal((GrpcModelNameStatus.Absent, null), Read(Frame(Message(w => String(w, 1, ""))), 1));
    }

    [Fact]
    public void TryRead_NotAProtobufMessageOrNameTooLong_Malformed()
    {
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(Frame(Message(w => String(w, 1, new string('m', GrpcModelName.MaxNameBytes + 1)))), 1));
        Assert.Equal((GrpcModelNameStatus.Read, new string('m', GrpcModelName.MaxNameBytes)), Read(Frame(Message(w => String(w, 1, new string('m', GrpcModelName.MaxNameBytes)))), 1));

        // The name's field as a varint; a group (wire type 3); field number 0; a varint of 11 bytes; a length past the end.
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(Frame([0x08, 0x01]), 1));
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(Frame([0x1B, 0x1C]), 1));
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(Frame([0x02, 0x00]), 1));
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(Frame([0x48, .. Enumerable.Repeat((byte)0xFF, 10), 0x01]), 1));
        Assert.Equal((GrpcModelNameStatus.Malformed, null), Read(Frame([0x0A, 0x05, (byte)'m']), 1));
    }

    [Fact]
    public async Task PeekAsync_BodyArrivingInPieces_ReadsTheNameAndLeavesEveryByteForTheHandler()
    {
        var frame = Frame(InferMessage("mlp", rawBytes: 10_000));
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(frame.AsMemory(0, 3));
        var peek = GrpcModelNameMiddleware.PeekAsync(pipe.Reader, 1, CancellationToken.None).AsTask();
        Assert.False(peek.IsCompleted); // 3 bytes: not even the frame header
        await pipe.Writer.WriteAsync(frame.AsMemory(3, 8));
        await pipe.Writer.WriteAsync(frame.AsMemory(11, 3000));
        Assert.False(peek.IsCompleted); // the name is there, but a later one could be in the rest of the prefix
        await pipe.Writer.WriteAsync(frame.AsMemory(3011, 2000));

        Assert.Equal((GrpcModelNameStatus.Read, "mlp"), await peek);

        // The handler's first read returns at once with all that arrived, then the rest.
        var first = pipe.Reader.ReadAsync();
        Assert.True(first.IsCompleted, "the handler's first read waits although bytes are there");
        var buffer = (await first).Buffer;
        Assert.Equal(5011, buffer.Length);
        pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        await pipe.Writer.WriteAsync(frame.AsMemory(5011));
        await pipe.Writer.CompleteAsync();
        var all = await pipe.Reader.ReadAtLeastAsync(frame.Length);
        Assert.Equal(frame, all.Buffer.ToArray());
    }

    private static (GrpcModelNameStatus, string?) Read(byte[] body, int field, bool complete = false) =>
        Read(new ReadOnlySequence<byte>(body), field, complete);

    private static (GrpcModelNameStatus, string?) Read(ReadOnlySequence<byte> body, int field, bool complete = false)
    {
        var status = GrpcModelName.TryRead(body, field, complete, out var name);
        return (status, name);
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var stream = new MemoryStream();
        using (var output = new CodedOutputStream(stream, leaveOpen: true))
        {
            write(output);
        }

        return stream.ToArray();
    }

    private static void String(CodedOutputStream output, int field, string value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    private static void Nested(CodedOutputStream output, int field, Action<CodedOutputStream> write)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Message(write)));
    }

    // A gRPC frame: not compressed, the big-endian length (the message's, unless told), the message.
    private static byte[] Frame(byte[] message, uint? length = null)
    {
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), length ?? (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int split)
    {
        var first = new Segment(bytes.AsMemory(0, split));
        var last = first.Append(bytes.AsMemory(split));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
