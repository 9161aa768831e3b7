using System.Buffers;
using Microsoft.AspNetCore.Http;
using ServingGateway.Inference.Protocol;

namespace ServingGateway.Inference.Http;

/// <summary>
/// A request body read whole into a buffer rented from <see cref="ArrayPool{T}.Shared"/>, refused with a
/// 413 as soon as it passes the limit (before reading when Content-Length says so). Dispose returns the buffer.
/// </summary>
internal sealed class PooledBody : IDisposable
{
    private byte[] _buffer;

    private PooledBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    /// <summary>The number of bytes read.</summary>
    public int Length { get; }

    /// <summary>The body.</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>Reads the whole body of <paramref name="request"/>.</summary>
    /// <exception cref="InferenceException">413 when the body is larger than <paramref name="limit"/>.</exception>
    public static async ValueTask<PooledBody> ReadAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > limit)
        {
            throw TooLarge(declared.Value, limit);
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(declared ?? 4096, 1));
        var length = 0;
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var sequence = result.Buffer;
                if (length + sequence.Length > limit)
                {
                    reader.AdvanceTo(sequence.End);
                    await DrainAsync(reader, length + sequence.Length, result.IsCompleted, limit, cancellationToken).ConfigureAwait(false);
                    throw TooLarge(length + sequence.Length, limit);
                }

                if (length + sequence.Length > buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(limit, Math.Max(2L * buffer.Length, length + sequence.Length)));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                sequence.CopyTo(buffer.AsSpan(length));
                length += (int)sequence.Length;
                reader.AdvanceTo(sequence.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }

            return new PooledBody(buffer, length);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // A body without Content-Length is refused only once it passes the limit, while the client is still
    // sending. Reading (and dropping) up to one more limit's worth lets a client that sends the whole body
    // before reading the answer see the 413 instead of a broken connection; a longer body is cut off.
    private static async ValueTask DrainAsync(System.IO.Pipelines.PipeReader reader, long seen, bool completed, long limit, CancellationToken cancellationToken)
    {
        while (!completed && seen <= 2 * limit)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            seen += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
            completed = result.IsCompleted;
        }
    }

    private static InferenceException TooLarge(long size, long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"the request body ({size} bytes or more) exceeds the limit of {limit} bytes (Inference:MaxRequestBodyBytes)");
}
