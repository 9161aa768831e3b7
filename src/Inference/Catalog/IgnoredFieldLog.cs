using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Logs the config.pbtxt fields this server does not use, once per model and field: a reload or a second
/// occurrence of the field does not log again.
/// </summary>
internal sealed partial class IgnoredFieldLog(ILogger logger)
{
    private readonly ConcurrentDictionary<(string Model, string Field), bool> _logged = new();

    /// <summary>Logs <paramref name="field"/> of <paramref name="model"/> unless it was logged before.</summary>
    public void Report(string model, string field, int line, int column)
    {
        if (_logged.TryAdd((model, field), true))
        {
            Log.FieldIgnored(logger, model, field, TritonConfigReader.FileName, line, column);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(70, LogLevel.Warning, "Model {Model}: ignoring field {Field} of {File} (line {Line}, column {Column}), which this server does not use")]
        public static partial void FieldIgnored(ILogger logger, string model, string field, string file, int line, int column);
    }
}
