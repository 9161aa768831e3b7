using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using ServingGateway.Inference.Protocol;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// A request body read whole into memory rented from <see cref="ArrayPool{T}.Shared"/>: buffered as it
/// arrives, in segments that grow with what has arrived (never sized by the declared Content-Length alone),
/// each charged to the server's <see cref="RequestBodyBudget"/> before it is rented. Refused with a 413 as
/// soon as it passes the limit (before reading when Content-Length says so), with a 503 when the budget is
/// spent. Dispose returns the memory and its charge.
/// </summary>
internal sealed class PooledBody : IDisposable
{
    /// <summary>The first segment's size at most: what a typical request needs, whatever it declares.</summary>
    public const int FirstSegmentBytes = 16 * 1024;

    /// <summary>Segments double up to this size.</summary>
    public const int MaxSegmentBytes = 1024 * 1024;

    private readonly RequestBodyBudget _budget;
    private byte[] _buffer;

    private PooledBody(byte[] buffer, int length, RequestBodyBudget budget)
    {
        _buffer = buffer;
        Length = length;
        _budget = budget;
    }

    /// <summary>The number of bytes read.</summary>
    public int Length { get; }

    /// <summary>The body.</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>Reads the whole body of <paramref name="request"/>.</summary>
    /// <exception cref="InferenceException">
    /// 413 when the body is larger than <paramref name="limit"/>; 503 with Retry-After when <paramref name="budget"/> cannot hold it.
    /// </exception>
    public static async ValueTask<PooledBody> ReadAsync(HttpRequest request, long limit, RequestBodyBudget budget, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > limit)
        {
            throw TooLarge(declared.Value, limit);
        }

        if (declared == 0)
        {
            return new PooledBody([], 0, budget);
        }

        var segments = new Segments(budget, declared);
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var sequence = result.Buffer;
                if (segments.Length + sequence.Length > limit)
                {
                    reader.AdvanceTo(sequence.End);
                    var seen = segments.Length + sequence.Length;
                    segments.Dispose();
                    await DrainAsync(reader, seen, result.IsCompleted, limit, cancellationToken).ConfigureAwait(false);
                    throw TooLarge(seen, limit);
                }

                try
                {
                    segments.Append(sequence);
                }
                finally
                {
                    reader.AdvanceTo(sequence.End);
                }

                if (result.IsCompleted)
                {
                    break;
                }
            }

            var (buffer, length) = segments.ToContiguous();
            return new PooledBody(buffer, length, budget);
        }
        catch
        {
            segments.Dispose();
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
            _budget.Release(buffer.Length);
        }
    }

    // A body without Content-Length is refused only once it passes the limit, while the client is still
    // sending. Reading (and dropping) up to one more limit's worth lets a client that sends the whole body
    // before reading the answer see the 413 instead of a broken connection; a longer body is cut off.
    private static async ValueTask DrainAsync(PipeReader reader, long seen, bool completed, long limit, CancellationToken cancellationToken)
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

    // The arrived bytes, in rented arrays charged to the budget. Each new segment doubles the last (up to
    // MaxSegmentBytes) but never asks for more than the declared length still to come.
    private sealed class Segments(RequestBodyBudget budget, long? declared) : IDisposable
    {
        private readonly List<byte[]> _arrays = [];
        private int _usedInLast;

        public long Length { get; private set; }

        public void Append(ReadOnlySequence<byte> sequence)
        {
            foreach (var memory in sequence)
            {
                var span = memory.Span;
                while (!span.IsEmpty)
                {
                    if (_arrays.Count == 0 || _usedInLast == _arrays[^1].Length)
                    {
                        Grow(span.Length);
                    }

                    var last = _arrays[^1];
                    var n = Math.Min(span.Length, last.Length - _usedInLast);
                    span[..n].CopyTo(last.AsSpan(_usedInLast));
                    _usedInLast += n;
                    Length += n;
                    span = span[n..];
                }
            }
        }

        // One array holding the whole body: the only segment as it is, or the segments copied into one.
        public (byte[] Buffer, int Length) ToContiguous()
        {
            var length = checked((int)Length);
            if (_arrays.Count == 0)
            {
                return ([], 0);
            }

            if (_arrays.Count == 1)
            {
                var only = _arrays[0];
                _arrays.Clear();
                return (only, length);
            }

            var whole = Rent(length);
            var at = 0;
            for (var i = 0; i < _arrays.Count; i++)
            {
                var used = i == _arrays.Count - 1 ? _usedInLast : _arrays[i].Length;
                _arrays[i].AsSpan(0, used).CopyTo(whole.AsSpan(at));
                at += used;
            }

            Dispose();
            return (whole, length);
        }

        public void Dispose()
        {
            foreach (var array in _arrays)
            {
                ArrayPool<byte>.Shared.Return(array);
                budget.Release(array.Length);
            }

            _arrays.Clear();
            _usedInLast = 0;
        }

        private void Grow(int arriving)
        {
            var size = _arrays.Count == 0 ? FirstSegmentBytes : Math.Min(2 * _arrays[^1].Length, MaxSegmentBytes);
            if (declared is { } total && total > Length)
            {
                size = (int)Math.Min(size, total - Length);
            }

            _arrays.Add(Rent(Math.Max(size, Math.Min(arriving, FirstSegmentBytes))));
            _usedInLast = 0;
        }

        private byte[] Rent(int size)
        {
            // Charged before renting, at the size the pool hands out (a power of two up to 1 GiB): the memory
            // really held, refused before it is allocated.
            var charged = size <= 16 ? 16 : size <= 1 << 30 ? (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size) : size;
            budget.Charge(charged);
            byte[] array;
            try
            {
                array = ArrayPool<byte>.Shared.Rent(charged);
            }
            catch
            {
                budget.Release(charged);
                throw;
            }

            // Should the pool ever hand out a larger array, the charge follows it, so what Dispose gives back
            // (array.Length) is exactly what was charged.
            budget.Release(charged - array.Length);
            return array;
        }
    }
}
