using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;
using ServingGateway.Deployments;
using ServingGateway.Edge;
using ServingGateway.Inference;
using ServingGateway.Inference.Grpc;
using ServingGateway.Inference.Metrics;
using ServingGateway.Observability;
using ServingGateway.RateLimiting;
using ServingGateway.Routing;

namespace ServingGateway.Hosting;

/// <summary>
/// Hosting, the composition root: builds and runs the ServingGateway host for the chosen role (see
/// docs/ARCHITECTURE.md) from one <c>AddXxx</c> per concern (auth, inference node, edge pipeline, rate
/// limits, node forwarding) and the role's pipeline (<see cref="GatewayPipeline"/>).
/// </summary>
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
        // The host takes its URLs from its arguments when it is created, before the gRPC listener is known
        // (GatewayKestrel): Urls joins the configuration as the last source instead, with a switch's precedence.
        var urls = commandLine.ConfigurationArgs.Where(a => a.StartsWith("--Urls=", StringComparison.OrdinalIgnoreCase)).ToArray();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [.. commandLine.ConfigurationArgs.Except(urls)],
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        var reloads = new ConfigReloads();
        builder.AddGatewayConfiguration(commandLine.ConfigFile, reloads, errors);
        builder.Configuration.AddCommandLine(urls);
        var settings = GatewaySettings.Bind(builder.Configuration, errors);
        errors.AddRange(GatewayKestrel.Check(builder.Configuration));
        if (errors.Count > 0)
        {
            throw new StartupException("ServingGateway: " + string.Join(Environment.NewLine + "ServingGateway: ", errors) + Environment.NewLine + "Run with --help for usage.");
        }

        var role = settings.Role;
        settings.SettleAuditPath();
        builder.UseGatewayKestrel(settings);
        builder.Services.AddGatewayTracing(settings.Telemetry, role);
        builder.Services.AddGatewayAuth(builder.Configuration, role, settings.Audit, apiKeys: role != GatewayRole.Node);
        if (role != GatewayRole.Edge)
        {
            builder.Services.AddInferenceNode(builder.Configuration);
            builder.Services.AddInferenceGrpc(builder.Configuration);
            builder.Services.Configure<Grpc.AspNetCore.Server.GrpcServiceOptions>(grpc => grpc.Interceptors.Add<GrpcModelNameCheck>());
        }

        if (role != GatewayRole.Node)
        {
            builder.Services.AddEdgePipeline(builder.Configuration, role);
            builder.Services.AddRateLimits(builder.Configuration, settings.Cache.Redis);
        }

        builder.Services.AddDeployments(builder.Configuration, role, settings.Cache.Redis);

        if (role == GatewayRole.Edge)
        {
            builder.Services.AddNodeForwarding(settings.Edge);
        }

        builder.Services.AddStatusPage(role);
        var app = builder.Build();
        reloads.Attach(
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ServingGateway.Configuration"),
            app.Services.GetService<EdgeMetrics>()?.Registry ?? app.Services.GetRequiredService<NodeMetrics>().Registry);
        app.UseGatewayPipeline(role).MapGatewayEndpoints(role);
        app.Lifetime.ApplicationStarted.Register(() => LogStarted(app, role, settings.Edge));
        return app;
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
