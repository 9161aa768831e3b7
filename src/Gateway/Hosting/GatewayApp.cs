using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;
using ServingGateway.Auth;
using ServingGateway.Edge;
using ServingGateway.Inference;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Http;
using ServingGateway.Inference.Metrics;
using ServingGateway.RateLimiting;
using ServingGateway.Routing;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Transforms;

namespace ServingGateway.Hosting;

/// <summary>Builds and runs the ServingGateway host for the chosen role (see ARCHITECTURE.md).</summary>
internal static partial class GatewayApp
{
    /// <summary>Where the server listens when no --urls or Urls key is given (Triton's HTTP port, loopback only).</summary>
    public const string DefaultUrls = "http://127.0.0.1:8000";

    /// <summary>Runs the process: returns 0 after a clean shutdown, 2 for bad arguments or configuration.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var commandLine = CommandLine.Parse(args);
        if (commandLine.Help)
        {
            await stdout.WriteLineAsync(CommandLine.Usage);
            return 0;
        }

        WebApplication app;
        try
        {
            app = Build(commandLine);
        }
        catch (StartupException ex)
        {
            await stderr.WriteLineAsync(ex.Message);
            return 2;
        }

        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (StartupException ex)
        {
            // Found once the server had bound its addresses (ListenerCheck): it stops before serving anyone.
            await stderr.WriteLineAsync(ex.Message);
            return 2;
        }
        catch (OptionsValidationException ex)
        {
            await stderr.WriteLineAsync("ServingGateway: invalid configuration:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", ex.Failures));
            return 2;
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    /// <summary>Builds the host; throws <see cref="StartupException"/> listing every argument or configuration error.</summary>
    public static WebApplication Build(CommandLine commandLine)
    {
        var errors = new List<string>(commandLine.Errors);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = commandLine.ConfigurationArgs,
            ContentRootPath = Directory.GetCurrentDirectory(),
        });

        // Defaults under everything else: request logs from ASP.NET only at Warning.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
                ["Logging:LogLevel:Yarp"] = "Warning",
            },
        });
        var reloads = new ConfigReloads();
        builder.Services.AddSingleton(reloads);
        AddConfigFile(builder, commandLine.ConfigFile, reloads, errors);

        var role = ParseRole(builder.Configuration["Role"] ?? "standalone", errors);
        var inference = Bind<InferenceOptions>(builder, InferenceOptions.SectionName, errors);
        var cache = Bind<CacheOptions>(builder, CacheOptions.SectionName, errors);
        cache.Redis ??= builder.Configuration["Redis"];
        var edge = Bind<EdgeOptions>(builder, EdgeOptions.SectionName, errors);
        var auth = Bind<AuthOptions>(builder, AuthOptions.SectionName, errors);
        var limits = Bind<RateLimitOptions>(builder, RateLimitOptions.SectionName, errors);
        var node = Bind<NodeOptions>(builder, NodeOptions.SectionName, errors);
        var audit = Bind<AuditOptions>(builder, AuditOptions.SectionName, errors);
        errors.AddRange(audit.Validate());
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
        }

        errors.AddRange(CheckHttps(builder.Configuration));
        if (errors.Count > 0)
        {
            throw new StartupException("ServingGateway: " + string.Join(Environment.NewLine + "ServingGateway: ", errors) + Environment.NewLine + "Run with --help for usage.");
        }

        if (string.IsNullOrEmpty(builder.Configuration["Urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }

        // https:// URLs (and Kestrel:Endpoints) take their certificate from Kestrel:Certificates:Default (a .pfx
        // Path and Password, or a PEM Path and KeyPath), as ASP.NET Core configures it.
        builder.WebHost.UseKestrelHttpsConfiguration();

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(edge.RequestHeadersTimeoutSeconds);

            // A node refuses bodies over its limit itself (413 with JSON) and may drain up to one more
            // limit's worth of a chunked body so the client reads the answer (PooledBody); an edge streams
            // bodies to the nodes and stops them at its own limit.
            kestrel.Limits.MaxRequestBodySize = role == GatewayRole.Edge ? edge.MaxRequestBodyBytes : 2 * inference.MaxRequestBodyBytes;
        });

        // Beside the model repository (standalone, node), in the working directory on an edge.
        audit.Path ??= role == GatewayRole.Edge
            ? "audit.log"
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(inference.ModelRepository).TrimEnd(Path.DirectorySeparatorChar)) ?? ".", "audit.log");
        AddAuth(builder, role, audit);
        if (role != GatewayRole.Edge)
        {
            builder.Services.AddInferenceNode(builder.Configuration);
        }

        if (role != GatewayRole.Node)
        {
            AddEdgePipeline(builder, role, cache.Redis);
        }

        if (role == GatewayRole.Edge)
        {
            builder.Services.AddSingleton<ILoadBalancingPolicy, ConsistentHashLoadBalancingPolicy>();
            builder.Services.AddSingleton<RetryOnConnectFailure>();
            builder.Services.AddSingleton<NodeSaturation>();
            builder.Services.AddSingleton<IForwarderHttpClientFactory, NodeCertificates>();
            builder.Services.AddReverseProxy()
                .LoadFromMemory(NodeDiscovery.Routes, [NodeDiscovery.Cluster([.. edge.Nodes.Select(n => n.TrimEnd('/'))], edge)])
                .AddTransforms(context =>
                {
                    // The client's key stays at the edge; the node sees the edge's own key (Edge:NodeKey).
                    context.AddRequestHeaderRemove("X-Api-Key");
                    context.AddRequestHeaderRemove("Authorization");
                    if (edge.NodeKey is { Length: > 0 } nodeKey)
                    {
                        context.AddRequestHeader("Authorization", "Bearer " + nodeKey, append: false);
                    }
                });
            builder.Services.AddHostedService<NodeDiscovery>();

            // Failures older than the window stop counting, so a node that came back is not kept out by them.
            builder.Services.Configure<TransportFailureRateHealthPolicyOptions>(o => o.DetectionWindowSize = TimeSpan.FromSeconds(edge.PassiveWindowSeconds));

            // YARP's session affinity (unused: requests are routed by model) would keep data-protection keys.
            builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        }

        var app = builder.Build();
        reloads.Attach(
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ServingGateway.Configuration"),
            app.Services.GetService<EdgeMetrics>()?.Registry ?? app.Services.GetRequiredService<NodeMetrics>().Registry);
        app.UseJsonErrors();
        if (role != GatewayRole.Edge)
        {
            app.UseShutdownDrain();
        }

        // Authorization, rate limits and routing read the endpoint the router selected: routing comes first.
        app.UseRouting();
        if (role == GatewayRole.Node)
        {
            app.UseMiddleware<NodeKeyMiddleware>();
        }
        else
        {
            app.UseMiddleware<ApiKeyMiddleware>();
            app.UseMiddleware<RateLimitMiddleware>();
        }

        if (role == GatewayRole.Edge)
        {
            app.MapEdgeEndpoints();
            app.MapMetrics("/metrics", app.Services.GetRequiredService<EdgeMetrics>().Registry).WithMetadata(MetricsEndpointMetadata.Instance);
            var retry = app.Services.GetRequiredService<RetryOnConnectFailure>();
            app.MapReverseProxy(pipeline =>
            {
                pipeline.Use(retry.InvokeAsync);
                pipeline.UseLoadBalancing();
                pipeline.UsePassiveHealthChecks();
            }).ConfigureEndpoints((endpoint, route) => endpoint.RequireRole(NodeDiscovery.RoleOf(route)));
        }
        else
        {
            app.UseMiddleware<ServedByMiddleware>();
            var group = app.MapGroup("");
            group.MapInferenceEndpoints();
            ((IEndpointConventionBuilder)group).Add(NodeEndpointRoles.Attach);
            app.MapMetrics("/metrics", app.Services.GetRequiredService<NodeMetrics>().Registry).WithMetadata(MetricsEndpointMetadata.Instance);
        }

        if (NodeEndpointRoles.MissingRoles(((IEndpointRouteBuilder)app).DataSources).ToList() is { Count: > 0 } missing)
        {
            throw new StartupException("ServingGateway: " + string.Join(Environment.NewLine + "ServingGateway: ", missing));
        }

        app.Lifetime.ApplicationStarted.Register(() => LogStarted(app, role, edge));
        return app;
    }

    private static void AddAuth(WebApplicationBuilder builder, GatewayRole role, AuditOptions audit)
    {
        var services = builder.Services;

        // Node keys reload with the --config file, through the same checks as at start (role node).
        ReloadableOptions.Add<NodeOptions>(services, builder.Configuration, NodeOptions.SectionName, o => role == GatewayRole.Node ? o.Validate() : []);
        services.AddSingleton(Options.Create(audit));
        services.AddSingleton<ListenerScope>();
        services.AddSingleton<AuthMetrics>();
        services.AddSingleton<AuditLog>();
        services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ListenerCheck>(sp, role));
        services.TryAddSingleton(TimeProvider.System);
    }

    private static void AddEdgePipeline(WebApplicationBuilder builder, GatewayRole role, string? redis)
    {
        var services = builder.Services;

        // Reloaded with the --config file, through the same checks as at start; an invalid reload is refused.
        ReloadableOptions.Add<AuthOptions>(services, builder.Configuration, AuthOptions.SectionName, o => o.Validate());
        ReloadableOptions.Add<RateLimitOptions>(services, builder.Configuration, RateLimitOptions.SectionName, o => o.Validate());
        ReloadableOptions.Add<EdgeOptions>(services, builder.Configuration, EdgeOptions.SectionName, o => o.Validate(role == GatewayRole.Edge));
        services.AddSingleton(new ApiKeyMiddleware.AnonymousDefault(role == GatewayRole.Standalone));
        services.AddSingleton<LocalTokenBuckets>();
        services.AddSingleton<EdgeMetrics>();
        if (!string.IsNullOrWhiteSpace(redis))
        {
            services.AddSingleton(sp =>
            {
                var connection = RedisConnections.Connect(redis);
                var time = sp.GetRequiredService<TimeProvider>();
                var breaker = new CircuitBreaker(
                    "Redis rate limits " + RedisConnections.Describe(redis), 3, TimeSpan.FromSeconds(2), time, sp.GetRequiredService<ILogger<RateLimitMiddleware>>());
                return new RateLimitMiddleware.SharedBuckets(new RedisTokenBuckets(connection, TimeSpan.FromMilliseconds(250), time), breaker, redis);
            });
        }
    }

    private static void AddConfigFile(WebApplicationBuilder builder, string? configFile, ConfigReloads reloads, List<string> errors)
    {
        if (configFile is null)
        {
            return;
        }

        var path = Path.GetFullPath(configFile);
        if (!File.Exists(path))
        {
            errors.Add($"--config file {path} does not exist");
            return;
        }

        try
        {
            GuardedJsonConfigurationProvider.Read(path);
        }
        catch (InvalidDataException ex)
        {
            errors.Add("--config file " + ex.Message);
            return;
        }

        // After appsettings.json, before environment variables and switches; watched, so rate limits and keys
        // reload when it changes (and a file that cannot be read keeps the last good contents).
        var sources = builder.Configuration.Sources;
        var at = sources.ToList().FindIndex(s => s is EnvironmentVariablesConfigurationSource);
        sources.Insert(at < 0 ? sources.Count : at, new GuardedJsonConfigurationSource(path, reloads));
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

    private static T Bind<T>(WebApplicationBuilder builder, string section, List<string> errors)
        where T : new()
    {
        var options = new T();
        try
        {
            builder.Configuration.GetSection(section).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add(ex.Message); // a value the binder cannot convert, e.g. "Rate": "fast"
        }

        return options;
    }

    // An https:// URL needs a certificate; a certificate file named must exist. Kestrel's own messages
    // come only once the host starts, one at a time.
    private static IEnumerable<string> CheckHttps(ConfigurationManager configuration)
    {
        var urls = (configuration["Urls"] ?? DefaultUrls).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var certificate = configuration.GetSection("Kestrel:Certificates:Default");
        if (urls.Any(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) && string.IsNullOrEmpty(certificate["Path"]))
        {
            yield return "an https:// URL needs a certificate: Kestrel:Certificates:Default:Path (a .pfx, with Kestrel:Certificates:Default:Password) or a PEM certificate with Kestrel:Certificates:Default:KeyPath (docs/SECURITY.md)";
        }

        foreach (var key in (string[])["Path", "KeyPath"])
        {
            if (certificate[key] is { Length: > 0 } file && !File.Exists(file))
            {
                yield return $"Kestrel:Certificates:Default:{key}: {Path.GetFullPath(file)} does not exist";
            }
        }
    }

    private static void LogStarted(WebApplication app, GatewayRole role, EdgeOptions edge)
    {
        var addresses = string.Join(", ", app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
        var name = role.ToString().ToLowerInvariant();
        if (role == GatewayRole.Edge)
        {
            Log.StartedEdge(app.Logger, addresses, edge.NodesDns is { Length: > 0 } dns ? $"DNS {dns}" : string.Join(", ", edge.Nodes));
        }
        else
        {
            Log.Started(app.Logger, name, addresses, Path.GetFullPath(app.Services.GetRequiredService<IOptions<InferenceOptions>>().Value.ModelRepository));
        }

        if (role != GatewayRole.Node)
        {
            var auth = app.Services.GetRequiredService<IOptionsMonitor<AuthOptions>>().CurrentValue;
            if (auth.AllowAnonymous ?? (role == GatewayRole.Standalone && app.Services.GetRequiredService<ListenerScope>().LoopbackOnly))
            {
                var roles = auth.AnonymousRoles ?? (auth.AllowAnonymous is null ? ["infer", "deploy", "admin"] : ["infer"]);
                Log.AnonymousAllowed(app.Logger, string.Join(", ", roles), auth.AllowAnonymous is null ? "the standalone role on loopback allows it by default" : "Auth:AllowAnonymous is true");
            }
            else
            {
                Log.AnonymousRefused(app.Logger, auth.Keys.Count);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "ServingGateway ({Role}) listening on {Addresses}, serving models from {Repository}")]
        public static partial void Started(ILogger logger, string role, string addresses, string repository);

        [LoggerMessage(2, LogLevel.Information, "ServingGateway (edge) listening on {Addresses}, forwarding to {Nodes}")]
        public static partial void StartedEdge(ILogger logger, string addresses, string nodes);

        [LoggerMessage(3, LogLevel.Warning, "Anonymous access is allowed ({Reason}): callers without an API key may {Roles}. Set Auth:AllowAnonymous false and add Auth:Keys to require keys")]
        public static partial void AnonymousAllowed(ILogger logger, string roles, string reason);

        [LoggerMessage(4, LogLevel.Information, "Anonymous access is refused: requests need one of {Keys} configured API key(s)")]
        public static partial void AnonymousRefused(ILogger logger, int keys);
    }
}
