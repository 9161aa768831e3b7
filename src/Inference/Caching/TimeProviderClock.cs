using Microsoft.Extensions.Internal;

namespace ServingGateway.Inference.Caching;

/// <summary>Gives MemoryCache, which takes an ISystemClock, the node's TimeProvider (tests: FakeTimeProvider).</summary>
internal sealed class TimeProviderClock(TimeProvider time) : ISystemClock
{
    public DateTimeOffset UtcNow => time.GetUtcNow();
}
