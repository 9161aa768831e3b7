using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Prometheus;
using ServingGateway.Inference;
using ServingGateway.Inference.Caching;
using ServingGateway.Inference.Http;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Hosting;

/// <summary>Builds and runs the ServingGateway host for the chosen role.</summary>
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

    /// <summary>Builds the host; throws <see cref="StartupException"/> listing every argument or role error.</summary>
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
            },
        });

        if (commandLine.ConfigFile is { } configFile)
        {
            var path = Path.GetFullPath(configFile);
            if (!File.Exists(path))
            {
                errors.Add($"--config file {path} does not exist");
            }
            else
            {
                // After appsettings.json, before environment variables and switches.
                var sources = builder.Configuration.Sources;
                var at = sources.ToList().FindIndex(s => s is EnvironmentVariablesConfigurationSource);
                var source = new JsonConfigurationSource
                {
                    Path = Path.GetFileName(path),
                    FileProvider = new PhysicalFileProvider(Path.GetDirectoryName(path)!),
                    Optional = false,
                };
                sources.Insert(at < 0 ? sources.Count : at, source);
            }
        }

        var roleText = builder.Configuration["Role"] ?? "standalone";
        if (!Enum.TryParse<GatewayRole>(roleText, ignoreCase: true, out var role) || int.TryParse(roleText, out _))
        {
            errors.Add($"--role must be standalone, node or edge; it is '{roleText}'");
        }
        else if (role == GatewayRole.Edge)
        {
            errors.Add("--role edge is not available in this build yet; run standalone or node");
        }

        var inference = new InferenceOptions();
        builder.Configuration.GetSection(InferenceOptions.SectionName).Bind(inference);
        errors.AddRange(inference.Validate());
        var cache = new CacheOptions();
        builder.Configuration.GetSection(CacheOptions.SectionName).Bind(cache);
        errors.AddRange(cache.Validate());

        if (errors.Count > 0)
        {
            throw new StartupException("ServingGateway: " + string.Join(Environment.NewLine + "ServingGateway: ", errors) + Environment.NewLine + "Run with --help for usage.");
        }

        if (string.IsNullOrEmpty(builder.Configuration["Urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Twice the limit: the node refuses bodies over the limit itself (413 with JSON) and may drain up
            // to one more limit's worth of a chunked body so the client reads the answer (PooledBody).
            kestrel.Limits.MaxRequestBodySize = 2 * inference.MaxRequestBodyBytes;
        });

        builder.Services.AddInferenceNode(builder.Configuration);

        var app = builder.Build();
        app.UseJsonErrors();
        app.MapInferenceEndpoints();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<NodeMetrics>().Registry);

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
            var options = app.Services.GetRequiredService<IOptions<InferenceOptions>>().Value;
            Log.Started(app.Logger, role.ToString().ToLowerInvariant(), string.Join(", ", addresses ?? []), Path.GetFullPath(options.ModelRepository));
        });
        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "ServingGateway ({Role}) listening on {Addresses}, serving models from {Repository}")]
        public static partial void Started(ILogger logger, string role, string addresses, string repository);
    }
}
