using StackExchange.Redis;

namespace ServingGateway.Inference.Caching;

/// <summary>How the gateway connects to Redis, for the cache and the shared rate limits alike.</summary>
internal static class RedisConnections
{
    /// <summary>
    /// Connects without waiting for Redis (it may come later; the client reconnects on its own), with
    /// one-second timeouts and commands failing fast instead of queueing while disconnected. The caller
    /// owns and disposes the connection.
    /// </summary>
    public static ConnectionMultiplexer Connect(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 1000;
        options.AsyncTimeout = 1000;
        options.SyncTimeout = 1000;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ReconnectRetryPolicy = new LinearRetry(500);
        return ConnectionMultiplexer.Connect(options);
    }
}
