using Microsoft.Extensions.Logging;
using ServingGateway.Inference.Repository;

namespace ServingGateway.Inference.Tests.Catalog;

/// <summary>A logger that keeps each entry's event id and text, for tests of what is logged (thread-safe).</summary>
internal sealed class ListLogger : ILogger<ModelRepository>
{
    private readonly Lock _lock = new();
    private readonly List<(int EventId, string Text)> _entries = [];

    /// <summary>A copy of the entries so far.</summary>
    public List<(int EventId, string Text)> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lock)
        {
            _entries.Add((eventId.Id, formatter(state, exception)));
        }
    }
}
