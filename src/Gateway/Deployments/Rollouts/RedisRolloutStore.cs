using ServingGateway.Inference.Common;
using StackExchange.Redis;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The deployments' state in Redis, shared by every edge (and a standalone server with <c>--redis</c>): the document
/// of <see cref="RolloutStore.Serialize"/> under <see cref="StateKey"/> and a counter under <see cref="RevisionKey"/>
/// that every save increments, which followers poll. A save is one Lua script that writes only while the saver still
/// holds the lease (<see cref="RedisRolloutLease"/>): a driver that lost it, paused past the expiry, cannot overwrite
/// the state of the one that took over.
/// </summary>
internal sealed class RedisRolloutStore : IRolloutStore
{
    /// <summary>The state document's key.</summary>
    public const string StateKey = "sg:deployments:state";

    /// <summary>The revision counter's key.</summary>
    public const string RevisionKey = "sg:deployments:revision";

    // KEYS: lease, state, revision. ARGV: the lease token ("" when there is no lease to check), the document. 1 when written.
    private const string SaveScript = """
        if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return 0
        end
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('INCR', KEYS[3])
        return 1
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly string _configuration;
    private readonly IRolloutLease _lease;

    /// <param name="redis">The connection.</param>
    /// <param name="configuration">Its configuration string, only to name its endpoints and mask it in errors.</param>
    /// <param name="lease">The lease a save must hold.</param>
    public RedisRolloutStore(IConnectionMultiplexer redis, string configuration, IRolloutLease lease)
    {
        _redis = redis;
        _configuration = configuration;
        _lease = lease;
    }

    public string Describe => $"Redis {RedisConnections.Describe(_configuration)} key {StateKey}";

    public DeploymentsState Load()
    {
        byte[]? document;
        try
        {
            document = (byte[]?)_redis.GetDatabase().StringGet(StateKey);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new IOException($"the deployments state cannot be read from {Describe}: {RedisConnections.Redact(ex.Message, _configuration)}", ex);
        }

        return document is null
            ? new DeploymentsState(new Dictionary<string, TrafficSplit>(StringComparer.Ordinal), [])
            : RolloutStore.Parse(document, Describe);
    }

    public void Save(IReadOnlyDictionary<string, TrafficSplit> splits, IEnumerable<Rollout> rollouts)
    {
        long written;
        try
        {
            written = (long)_redis.GetDatabase().ScriptEvaluate(
                SaveScript, [RedisRolloutLease.Key, StateKey, RevisionKey], [_lease.Token ?? "", RolloutStore.Serialize(splits, rollouts)]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new IOException($"the deployments state cannot be written to {Describe}: {RedisConnections.Redact(ex.Message, _configuration)}", ex);
        }

        if (written != 1)
        {
            throw new RolloutLeaseLostException($"another process holds the rollouts' lease ({RedisRolloutLease.Key}) now: this one no longer drives them");
        }
    }

    public long? Revision()
    {
        try
        {
            return (long?)_redis.GetDatabase().StringGet(RevisionKey) ?? 0;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return null;
        }
    }
}
