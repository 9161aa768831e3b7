using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Memory;

namespace ServingGateway.Hosting;

/// <summary>Where the host's configuration comes from: quiet logging defaults under everything, the watched --config file.</summary>
internal static class GatewayConfiguration
{
    /// <summary>
    /// Adds the defaults and the --config file (<paramref name="configFile"/>, when given), reporting its reloads
    /// to <paramref name="reloads"/>; a file that is missing or unreadable is added to <paramref name="errors"/>.
    /// </summary>
    public static WebApplicationBuilder AddGatewayConfiguration(this WebApplicationBuilder builder, string? configFile, ConfigReloads reloads, List<string> errors)
    {
        // Defaults under everything else: request logs from ASP.NET only at Warning, and none from its hosting category:
        // while that category logs at any level, ASP.NET Core starts an Activity and a log scope for every request even
        // with tracing off (docs/CONFIGURATION.md, "Logging").
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "None",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
                ["Logging:LogLevel:Yarp"] = "Warning",
            },
        });
        builder.Services.AddSingleton(reloads);
        AddConfigFile(builder, configFile, reloads, errors);
        return builder;
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
}
