using ServingGateway.Auth;
using ServingGateway.Deployments.Shadow;
using ServingGateway.Deployments.Versions;
using ServingGateway.Edge;
using ServingGateway.Inference;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Common;
using ServingGateway.Observability;
using ServingGateway.RateLimiting;

namespace ServingGateway.Hosting;

/// <summary>
/// The options the host is built from, bound once at start from their sections and checked together:
/// every error of every section the role uses is listed, so a bad configuration stops the process with all of
/// them at once. Options that reload are bound again by their own <c>AddXxx</c> (through the same checks).
/// </summary>
internal sealed class GatewaySettings
{
    private GatewaySettings(GatewayRole role, InferenceOptions inference, CacheOptions cache, EdgeOptions edge, AuditOptions audit, TelemetryOptions telemetry)
    {
        Telemetry = telemetry;
        Role = role;
        Inference = inference;
        Cache = cache;
        Edge = edge;
        Audit = audit;
    }

    /// <summary>The role the process runs (--role).</summary>
    public GatewayRole Role { get; }

    /// <summary>The Inference section (standalone, node).</summary>
    public InferenceOptions Inference { get; }

    /// <summary>The Cache section, with its Redis from the top-level Redis key when the section names none.</summary>
    public CacheOptions Cache { get; }

    /// <summary>The Edge section.</summary>
    public EdgeOptions Edge { get; }

    /// <summary>The Audit section.</summary>
    public AuditOptions Audit { get; }

    /// <summary>Section Telemetry: tracing.</summary>
    public TelemetryOptions Telemetry { get; }

    /// <summary>Settles the audit log's path when none is configured; only once the settings are known to be valid.</summary>
    public void SettleAuditPath()
    {
        // Beside the model repository (standalone, node), in the working directory on an edge.
        Audit.Path ??= Role == GatewayRole.Edge
            ? "audit.log"
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Inference.ModelRepository).TrimEnd(Path.DirectorySeparatorChar)) ?? ".", "audit.log");
    }

    /// <summary>Binds every section and adds each error found to <paramref name="errors"/>.</summary>
    public static GatewaySettings Bind(IConfiguration configuration, List<string> errors)
    {
        var role = ParseRole(configuration["Role"] ?? "standalone", errors);
        var inference = Bind<InferenceOptions>(configuration, InferenceOptions.SectionName, errors);
        var cache = Bind<CacheOptions>(configuration, CacheOptions.SectionName, errors);
        cache.Redis ??= configuration["Redis"];
        var edge = Bind<EdgeOptions>(configuration, EdgeOptions.SectionName, errors);
        var auth = Bind<AuthOptions>(configuration, AuthOptions.SectionName, errors);
        var limits = Bind<RateLimitOptions>(configuration, RateLimitOptions.SectionName, errors);
        var node = Bind<NodeOptions>(configuration, NodeOptions.SectionName, errors);
        var audit = Bind<AuditOptions>(configuration, AuditOptions.SectionName, errors);
        errors.AddRange(audit.Validate());
        var telemetry = Bind<TelemetryOptions>(configuration, TelemetryOptions.SectionName, errors);
        errors.AddRange(telemetry.Validate());
        if (role != GatewayRole.Edge)
        {
            errors.AddRange(inference.Validate());
            errors.AddRange(cache.Validate());
        }

        if (role == GatewayRole.Edge && !string.IsNullOrWhiteSpace(cache.Redis) && RedisConnections.Check(cache.Redis, "Redis (--redis)", out _) is { } redisError)
        {
            errors.Add(redisError);
        }

        if (role == GatewayRole.Node)
        {
            errors.AddRange(node.Validate());
        }

        if (role != GatewayRole.Node)
        {
            errors.AddRange(edge.Validate(role == GatewayRole.Edge));
            errors.AddRange(auth.Validate());
            errors.AddRange(limits.Validate());
            errors.AddRange(Bind<ShadowOptions>(configuration, ShadowOptions.SectionName, errors).Validate());
        }

        errors.AddRange(Bind<VersionUploadOptions>(configuration, VersionUploadOptions.SectionName, errors).Validate());

        return new GatewaySettings(role, inference, cache, edge, audit, telemetry);
    }

    private static GatewayRole ParseRole(string text, List<string> errors)
    {
        if (Enum.TryParse<GatewayRole>(text, ignoreCase: true, out var role) && !int.TryParse(text, out _))
        {
            return role;
        }

        errors.Add($"--role must be standalone, node or edge; it is '{text}'");
        return GatewayRole.Standalone;
    }

    private static T Bind<T>(IConfiguration configuration, string section, List<string> errors)
        where T : new()
    {
        var options = new T();
        try
        {
            configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(ex.Message); // a value the binder cannot convert, e.g. "Rate": "fast"
        }

        return options;
    }
}
