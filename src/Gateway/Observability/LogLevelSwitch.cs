using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace ServingGateway.Observability;

/// <summary>
/// The log level set through <c>POST /v2/logging</c>: while the process runs it replaces every level configured under
/// Logging:LogLevel, the default and each category's (an operator asking for verbose logs gets them from every
/// component); levels set for one provider only (Logging:Console:LogLevel) still apply. Applied through the logging
/// options, so every logger sees it at once.
/// </summary>
internal sealed class LogLevelSwitch : IOptionsChangeTokenSource<LoggerFilterOptions>, IPostConfigureOptions<LoggerFilterOptions>, IDisposable
{
    private readonly Lock _lock = new();
    private CancellationTokenSource _changed = new();
    private LogLevel? _level;

    public string? Name => Options.DefaultName;

    /// <summary>Sets the default level of every logger.</summary>
    public void Set(LogLevel level)
    {
        CancellationTokenSource changed;
        lock (_lock)
        {
            _level = level;
            changed = _changed;
            _changed = new CancellationTokenSource();
        }

        changed.Cancel();
        changed.Dispose();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _changed.Dispose();
        }
    }

    public IChangeToken GetChangeToken()
    {
        lock (_lock)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public void PostConfigure(string? name, LoggerFilterOptions options)
    {
        if (_level is not { } level)
        {
            return;
        }

        options.Rules.RemoveAll(rule => rule.ProviderName is null && rule.Filter is null);
        options.Rules.Add(new LoggerFilterRule(null, null, level, null));
        options.MinLevel = level;
    }

    /// <summary>The default level in force: the last one set, else the configured default, else Information.</summary>
    public static LogLevel Default(LoggerFilterOptions options) =>
        options.Rules.LastOrDefault(rule => rule.ProviderName is null && rule.CategoryName is null && rule.Filter is null)?.LogLevel ?? options.MinLevel;
}

file static class RuleListExtensions
{
    public static void RemoveAll(this IList<LoggerFilterRule> rules, Func<LoggerFilterRule, bool> match)
    {
        for (var i = rules.Count - 1; i >= 0; i--)
        {
            if (match(rules[i]))
            {
                rules.RemoveAt(i);
            }
        }
    }
}
