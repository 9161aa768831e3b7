using Microsoft.AspNetCore.Http;
using ServingGateway.Inference.Protocol;

namespace ServingGateway.Inference.Serving;

/// <summary>
/// The server-wide budget of request body bytes held in memory (Inference:MaxBufferedRequestMb): every
/// buffer a <see cref="PooledBody"/> rents is charged here first, and given back when the body is disposed,
/// so slow senders together can pin no more than the budget, whatever they declare.
/// </summary>
internal sealed class RequestBodyBudget
{
    private long _available;

    public RequestBodyBudget(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
        _available = capacityBytes;
    }

    /// <summary>The budget, in bytes.</summary>
    public long CapacityBytes { get; }

    /// <summary>Bytes charged now.</summary>
    public long ChargedBytes => CapacityBytes - Volatile.Read(ref _available);

    /// <summary>Charges <paramref name="bytes"/>.</summary>
    /// <exception cref="InferenceException">503 with Retry-After when the budget cannot hold them.</exception>
    public void Charge(long bytes)
    {
        var available = Volatile.Read(ref _available);
        while (true)
        {
            if (available < bytes)
            {
                throw new InferenceException(
                    StatusCodes.Status503ServiceUnavailable,
                    $"the server already holds its limit of {CapacityBytes / (1024 * 1024)} MiB of request bodies in memory (Inference:MaxBufferedRequestMb); retry later")
                {
                    RetryAfter = TimeSpan.FromSeconds(1),
                };
            }

            var seen = Interlocked.CompareExchange(ref _available, available - bytes, available);
            if (seen == available)
            {
                return;
            }

            available = seen;
        }
    }

    /// <summary>Gives back bytes charged before.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _available, bytes);
}
