using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace ServingGateway.Routing;

/// <summary>
/// Reads the model a gRPC request names from the first bytes of its body, where a proxy does not look: the gRPC
/// frame (1 byte compressed flag, 4 bytes big-endian length, the message) and, in the message, the top-level
/// length-delimited field that holds the name (<see cref="GrpcModelField"/>). It parses protobuf's wire format only
/// as far as tags and lengths, over at most <see cref="MaxPrefixBytes"/> of the message, and allocates nothing but
/// the name. As protobuf's own parsers, it takes the last occurrence of the field; one past the prefix is not seen
/// here, so the server compares the name it routed by with the one it parsed (docs/API.md, "Through the edge").
/// </summary>
internal static class GrpcModelName
{
    /// <summary>The most of a message read for its name: the names come first in every message that has one.</summary>
    public const int MaxPrefixBytes = 4096;

    /// <summary>The longest name read, in UTF-8 bytes: a model name has at most 128 characters.</summary>
    public const int MaxNameBytes = 512;

    private const int FrameHeaderBytes = 5;

    /// <summary>
    /// Reads field <paramref name="field"/> of the first message of <paramref name="body"/>, the bytes of the request
    /// body received so far; <paramref name="complete"/>: the body has no more. <see cref="GrpcModelNameStatus.NeedMore"/>
    /// asks for more bytes (never once the prefix is full or the body complete).
    /// </summary>
    public static GrpcModelNameStatus TryRead(in ReadOnlySequence<byte> body, int field, bool complete, out string? name)
    {
        name = null;
        if (body.Length < FrameHeaderBytes)
        {
            return complete ? GrpcModelNameStatus.Malformed : GrpcModelNameStatus.NeedMore;
        }

        Span<byte> header = stackalloc byte[FrameHeaderBytes];
        body.Slice(0, FrameHeaderBytes).CopyTo(header);
        if (header[0] != 0)
        {
            return header[0] == 1 ? GrpcModelNameStatus.Compressed : GrpcModelNameStatus.Malformed;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        var wanted = (int)Math.Min(length, MaxPrefixBytes);
        var have = (int)Math.Min(body.Length - FrameHeaderBytes, wanted);
        if (have < wanted)
        {
            return complete ? GrpcModelNameStatus.Malformed : GrpcModelNameStatus.NeedMore; // complete: it ended inside the frame
        }

        // Whole when the message ends inside the prefix; else the fields that start and end inside it are read.
        var whole = have == length;
        var message = body.Slice(FrameHeaderBytes, have);
        if (message.IsSingleSegment)
        {
            return Scan(message.FirstSpan, field, whole, out name);
        }

        var rented = ArrayPool<byte>.Shared.Rent(have);
        try
        {
            message.CopyTo(rented);
            return Scan(rented.AsSpan(0, have), field, whole, out name);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // The top-level fields of `message`, in order; `whole`: the message ends here (else a field cut at the end is the
    // prefix's end, not a malformed message).
    private static GrpcModelNameStatus Scan(ReadOnlySpan<byte> message, int field, bool whole, out string? name)
    {
        name = null;
        ReadOnlySpan<byte> found = default;
        var seen = false;
        var position = 0;
        while (position < message.Length)
        {
            if (!TryVarint(message, ref position, out var tag))
            {
                return End(position, message.Length, whole, seen, found, out name);
            }

            var number = tag >> 3;
            var wireType = (int)(tag & 7);
            if (number == 0 || number > 536_870_911)
            {
                return GrpcModelNameStatus.Malformed;
            }

            switch (wireType)
            {
                case 0:
                    if (!TryVarint(message, ref position, out _))
                    {
                        return End(position, message.Length, whole, seen, found, out name);
                    }

                    break;
                case 1 or 5:
                    var fixedLength = wireType == 1 ? 8 : 4;
                    if (message.Length - position < fixedLength)
                    {
                        return End(message.Length, message.Length, whole, seen, found, out name);
                    }

                    position += fixedLength;
                    break;
                case 2:
                    if (!TryVarint(message, ref position, out var size))
                    {
                        return End(position, message.Length, whole, seen, found, out name);
                    }

                    if (number == (ulong)field && size > MaxNameBytes)
                    {
                        return GrpcModelNameStatus.Malformed;
                    }

                    if ((ulong)(message.Length - position) < size)
                    {
                        return End(message.Length, message.Length, whole, seen, found, out name);
                    }

                    if (number == (ulong)field)
                    {
                        found = message.Slice(position, (int)size);
                        seen = true;
                    }

                    position += (int)size;
                    break;
                default:
                    // Groups (3, 4) are in no message of this protocol; 6 and 7 are no wire type.
                    return GrpcModelNameStatus.Malformed;
            }

            if (number == (ulong)field && wireType != 2)
            {
                return GrpcModelNameStatus.Malformed;
            }
        }

        return Found(seen, found, out name);
    }

    // The message ran out inside a field: malformed when it is whole, else the end of the prefix.
    private static GrpcModelNameStatus End(int position, int length, bool whole, bool seen, ReadOnlySpan<byte> found, out string? name)
    {
        name = null;
        if (whole || position > length)
        {
            return GrpcModelNameStatus.Malformed;
        }

        return seen ? Found(seen, found, out name) : GrpcModelNameStatus.NotInPrefix;
    }

    private static GrpcModelNameStatus Found(bool seen, ReadOnlySpan<byte> found, out string? name)
    {
        name = null;
        if (!seen || found.IsEmpty)
        {
            return GrpcModelNameStatus.Absent; // proto3: an empty string is the field not set
        }

        if (!System.Text.Unicode.Utf8.IsValid(found))
        {
            return GrpcModelNameStatus.Malformed;
        }

        name = Encoding.UTF8.GetString(found);
        return GrpcModelNameStatus.Read;
    }

    // A base-128 varint of at most 10 bytes; false when the bytes end inside it (position moves to the end) or it is longer.
    private static bool TryVarint(ReadOnlySpan<byte> bytes, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (position >= bytes.Length)
            {
                return false;
            }

            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        position = bytes.Length + 1; // longer than 10 bytes: malformed, wherever the prefix ends
        return false;
    }
}
