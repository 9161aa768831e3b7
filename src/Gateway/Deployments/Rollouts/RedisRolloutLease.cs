using ServingGateway.Inference.Common;
using StackExchange.Redis;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The rollouts' lease in Redis (key <see cref="Key"/>): a value <c>"{random id} {url}"</c> set only when absent, with
/// an expiry of <see cref="RolloutOptions.LeaseSeconds"/>, renewed by its holder at every driver tick and only while the
/// value is still its own (one Lua script, so a lease that expired and was taken is never renewed by the old holder).
/// </summary>
internal sealed class RedisRolloutLease : IRolloutLease
{
    /// <summary>The key.</summary>
    public const string Key = "sg:deployments:lease";

    // KEYS[1]: the lease. ARGV: token, ttl ms. Renews when held by the token; else takes it when free. 1 when held after.
    private const string HoldScript = """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
        end
        if not holder then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 1
        end
        return 0
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly string _configuration;
    private readonly Func<string?> _url;
    private readonly long _ttlMs;
    private readonly ILogger _logger;
    private readonly string _id = Guid.NewGuid().ToString("N");
    private string? _token;
    private volatile bool _unreachable;

    /// <param name="redis">The connection (Redis may be away: every call then answers "not held").</param>
    /// <param name="configuration">Its configuration string, only to mask it in log lines.</param>
    /// <param name="url">This process's address for admin calls, null until it is known (the server listens).</param>
    /// <param name="ttl">The lease's expiry: how long a stopped holder keeps it.</param>
    /// <param name="logger">Where failures to reach Redis go.</param>
    public RedisRolloutLease(IConnectionMultiplexer redis, string configuration, Func<string?> url, TimeSpan ttl, ILogger logger)
    {
        _redis = redis;
        _configuration = configuration;
        _url = url;
        _ttlMs = (long)ttl.TotalMilliseconds;
        _logger = logger;
    }

    public string? Token => _token;

    public bool TryHold()
    {
        if (_token is null)
        {
            if (_url() is not { } url)
            {
                return false;
            }

            _token = $"{_id} {url}";
        }

        try
        {
            var held = (long)_redis.GetDatabase().ScriptEvaluate(HoldScript, [Key], [_token, _ttlMs]) == 1;
            Answered();
            return held;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Unreachable(ex);
            return false;
        }
    }

    public void Release()
    {
        if (_token is null)
        {
            return;
        }

        try
        {
            _redis.GetDatabase().ScriptEvaluate(ReleaseScript, [Key], [_token]);
            Answered();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Unreachable(ex);
        }
    }

    public string? HolderUrl()
    {
        try
        {
            var holder = (string?)_redis.GetDatabase().StringGet(Key);
            Answered();
            return holder?.IndexOf(' ', StringComparison.Ordinal) is int space and > 0 ? holder[(space + 1)..] : null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Unreachable(ex);
            return null;
        }
    }

    // An outage is said once when it starts and once when Redis answers again, not at every tick or forwarded call.
    private void Unreachable(Exception ex)
    {
        if (!_unreachable)
        {
            _unreachable = true;
            LeaseLog.Unreachable(_logger, RedisConnections.Redact(ex.Message, _configuration));
        }
    }

    private void Answered()
    {
        if (_unreachable)
        {
            _unreachable = false;
            LeaseLog.Reachable(_logger);
        }
    }
}

internal static partial class LeaseLog
{
    [LoggerMessage(184, LogLevel.Warning, "The rollouts' lease in Redis cannot be read or renewed: {Reason}; this process does not drive rollouts until it can")]
    public static partial void Unreachable(ILogger logger, string reason);

    [LoggerMessage(188, LogLevel.Information, "The rollouts' lease in Redis answers again")]
    public static partial void Reachable(ILogger logger);
}
