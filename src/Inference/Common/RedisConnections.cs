using System.Net;
using StackExchange.Redis;

namespace ServingGateway.Inference.Common;

/// <summary>How the gateway connects to Redis, for the cache and the shared rate limits alike.</summary>
/// <remarks>
/// The configuration string may carry a password (<c>password=</c>, <c>user=</c>) and TLS options
/// (<c>ssl=true</c>, <c>sslHost=</c>): they pass through to StackExchange.Redis as given. The string itself
/// never reaches a log line or an error message: logs name the endpoints (<see cref="Describe"/>) and
/// Redis's error messages are passed through <see cref="Redact"/>.
/// </remarks>
public static class RedisConnections
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

    /// <summary>
    /// Checks a configuration string; the error names <paramref name="key"/> and never repeats the string
    /// (it may hold a password). <paramref name="loopback"/>: whether every endpoint is on loopback.
    /// </summary>
    public static string? Check(string configuration, string key, out bool loopback)
    {
        loopback = false;
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException)
        {
            return $"{key} is not a StackExchange.Redis configuration string (HOST:PORT[,password=...][,ssl=true]...)";
        }

        if (options.EndPoints.Count == 0)
        {
            return $"{key} names no Redis endpoint (HOST:PORT)";
        }

        loopback = options.EndPoints.All(e => e switch
        {
            IPEndPoint ip => IPAddress.IsLoopback(ip.Address),
            DnsEndPoint dns => string.Equals(dns.Host, "localhost", StringComparison.OrdinalIgnoreCase),
            _ => false,
        });
        return null;
    }

    /// <summary>The endpoints of a configuration string, host:port only, for logs.</summary>
    public static string Describe(string configuration)
    {
        try
        {
            return string.Join(", ", ConfigurationOptions.Parse(configuration).EndPoints.Select(EndPointCollection.ToString));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException)
        {
            return "(unreadable Redis configuration)";
        }
    }

    /// <summary>
    /// <paramref name="message"/> (an error from Redis or its client) with the configuration's password
    /// and the whole configuration string masked, for a log line.
    /// </summary>
    public static string Redact(string message, string configuration)
    {
        var password = TryParse(configuration)?.Password;
        if (configuration.Length > 0)
        {
            message = message.Replace(configuration, Describe(configuration), StringComparison.Ordinal);
        }

        return string.IsNullOrEmpty(password) ? message : message.Replace(password, "***", StringComparison.Ordinal);
    }

    private static ConfigurationOptions? TryParse(string configuration)
    {
        try
        {
            return ConfigurationOptions.Parse(configuration);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException)
        {
            return null;
        }
    }
}
