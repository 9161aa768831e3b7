using Prometheus;
using ServingGateway.Inference.Metrics;

namespace ServingGateway.Hosting;

/// <summary>
/// Counts and logs what became of each configuration reload: applied, or refused (an unreadable
/// <c>--config</c> file, or options that fail their validation), in which case the last good configuration
/// stays in force. Exported as <c>sg_config_reloads_total{section, outcome}</c>.
/// </summary>
/// <remarks>
/// Created before the host (the configuration file reports to it) and attached to the host's logger and
/// registry once they exist; what happened before that is counted, not logged.
/// </remarks>
internal sealed partial class ConfigReloads
{
    /// <summary>The section label of a refusal of the whole file (it could not be read or parsed).</summary>
    public const string FileSection = "file";

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Section, bool Applied), long> _counts = new();
    private ILogger? _logger;

    /// <summary>The reloads refused so far, all sections together.</summary>
    public long Refusals => _counts.Where(c => !c.Key.Applied).Sum(c => c.Value);

    /// <summary>Starts logging to <paramref name="logger"/> and exporting the counts in <paramref name="registry"/>.</summary>
    public void Attach(ILogger logger, CollectorRegistry registry)
    {
        _logger = logger;
        var counter = MetricFactories.For(registry).CreateCounter(
            "sg_config_reloads_total",
            "Configuration reloads by section (Auth, RateLimits, Edge, ... or file when the --config file could not be read) and outcome (applied, refused: the last good configuration stays in force).",
            ["section", "outcome"]);
        counter.WithLabels(FileSection, "refused");
        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var ((section, applied), count) in _counts)
            {
                counter.WithLabels(section, applied ? "applied" : "refused").IncTo(count);
            }
        });
    }

    /// <summary>A reload of <paramref name="section"/> passed validation and is in force.</summary>
    public void Applied(string section)
    {
        _counts.AddOrUpdate((section, true), 1, static (_, n) => n + 1);
        if (_logger is { } logger)
        {
            Log.Applied(logger, section);
        }
    }

    /// <summary>A reload of <paramref name="section"/> was refused for <paramref name="errors"/>; the last good one stays.</summary>
    public void Refused(string section, IEnumerable<string> errors)
    {
        _counts.AddOrUpdate((section, false), 1, static (_, n) => n + 1);
        if (_logger is { } logger)
        {
            Log.Refused(logger, section, string.Join("; ", errors));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(80, LogLevel.Information, "Configuration reloaded: {Section} is in force")]
        public static partial void Applied(ILogger logger, string section);

        [LoggerMessage(81, LogLevel.Error, "Configuration reload refused, the last good {Section} configuration stays in force: {Errors}")]
        public static partial void Refused(ILogger logger, string section, string errors);
    }
}
