using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using ServingGateway.Edge;

namespace ServingGateway.Routing;

/// <summary>
/// Nodes that said they are overloaded: a node's 503 with Retry-After marks it saturated for that long
/// (at most <see cref="EdgeOptions.MaxSaturationSeconds"/>), and the bounded-load policy passes it over
/// while another node can take the request. One clock (the injected <see cref="TimeProvider"/>) decides
/// when a mark ends; a later mark never shortens an earlier one.
/// </summary>
internal sealed class NodeSaturation(IOptionsMonitor<EdgeOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _until = new(StringComparer.Ordinal);

    /// <summary>
    /// Marks <paramref name="node"/> saturated for <paramref name="retryAfter"/>, capped by
    /// <see cref="EdgeOptions.MaxSaturationSeconds"/>; returns the time it was marked for.
    /// </summary>
    public TimeSpan Mark(string node, TimeSpan retryAfter)
    {
        var cap = TimeSpan.FromSeconds(options.CurrentValue.MaxSaturationSeconds);
        var span = retryAfter > cap ? cap : retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter;
        var until = time.GetTimestamp() + (long)(span.TotalSeconds * time.TimestampFrequency);
        _until.AddOrUpdate(node, until, (_, previous) => Math.Max(previous, until));
        return span;
    }

    /// <summary>True while the last mark of <paramref name="node"/> has not ended.</summary>
    public bool IsSaturated(string node) => _until.TryGetValue(node, out var until) && time.GetTimestamp() < until;

    /// <summary>
    /// The wait a Retry-After header value asks for: delta-seconds, or an HTTP date (from now); null when the
    /// value is neither, or names a time already past.
    /// </summary>
    public TimeSpan? ParseRetryAfter(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds > 0 ? TimeSpan.FromSeconds(Math.Min(seconds, int.MaxValue)) : null;
        }

        if (DateTimeOffset.TryParseExact(value.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : null;
        }

        return null;
    }
}
