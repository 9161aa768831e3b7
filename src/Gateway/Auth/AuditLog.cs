using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace ServingGateway.Auth;

/// <summary>
/// Appends one JSON line per repository or admin call (with its outcome) and per 401/403 to
/// <see cref="AuditOptions.Path"/>: <c>{"time", "caller", "role", "method", "route", "model", "status",
/// "outcome"}</c>, with a <c>details</c> object when the endpoint added one (<see cref="AuditDetails"/>), and one per <see cref="Event"/> (a rollout's decisions). Route is the route pattern the router selected (the raw path, cut to 256 characters, when
/// none matched); never a key. Written and flushed before the response ends, under one lock; rotated by size.
/// Refusals are also counted in <see cref="AuthMetrics"/>.
/// </summary>
/// <remarks>Ownership: owns and disposes its file stream.</remarks>
internal sealed partial class AuditLog : IDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private readonly AuthMetrics _metrics;
    private readonly ILogger<AuditLog> _logger;
    private readonly Lock _lock = new();
    private FileStream? _file;

    public AuditLog(IOptions<AuditOptions> options, TimeProvider time, AuthMetrics metrics, ILogger<AuditLog> logger)
    {
        _path = Path.GetFullPath(options.Value.Path ?? "audit.log");
        _maxBytes = options.Value.MaxBytes;
        _time = time;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>The file written to.</summary>
    public string FilePath => _path;

    /// <summary>Records a 401 or 403 the caller got.</summary>
    public void Refused(HttpContext context, int status, string caller, GatewayRoles? role)
    {
        _metrics.Refused(status);
        Append(context, status, caller, role, status == StatusCodes.Status403Forbidden ? "forbidden" : "unauthenticated");
    }

    /// <summary>Runs <paramref name="next"/> and records the outcome of the call (repository and admin endpoints).</summary>
    public async Task ServeAsync(HttpContext context, RequestDelegate next, string caller, GatewayRoles role)
    {
        try
        {
            await next(context);
        }
        finally
        {
            var status = context.Response.StatusCode;
            Append(context, status, caller, role, context.RequestAborted.IsCancellationRequested ? "aborted" : status < 400 ? "served" : status == 429 ? "rate_limited" : "failed");
        }
    }

    /// <summary>
    /// Records something done outside a request, or more than its request line says (a rollout's decision and the
    /// readings it was made on): <c>{"time", "caller", "event", "model", "outcome", ...fields}</c>.
    /// </summary>
    public void Event(string caller, string name, string model, string outcome, Action<Utf8JsonWriter> fields)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("time"u8, _time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            writer.WriteString("caller"u8, caller);
            writer.WriteString("event"u8, name);
            writer.WriteString("model"u8, Cut(model));
            writer.WriteString("outcome"u8, outcome);
            fields(writer);
            writer.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        Write(stream.ToArray());
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _file?.Dispose();
            _file = null;
        }
    }

    private void Append(HttpContext context, int status, string caller, GatewayRoles? role, string outcome)
    {
        Write(Format(context, status, caller, role, outcome));
    }

    private void Write(byte[] line)
    {
        try
        {
            lock (_lock)
            {
                if (_file is not null && _file.Length > 0 && _file.Length + line.Length > _maxBytes)
                {
                    _file.Dispose();
                    _file = null;
                    File.Move(_path, _path + ".1", overwrite: true);
                }

                _file ??= new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
                _file.Write(line);
                _file.Flush();
            }
        }
        catch (IOException ex)
        {
            Log.WriteFailed(_logger, _path, ex.Message);
        }
        catch (UnauthorizedAccessException ex)
        {
            Log.WriteFailed(_logger, _path, ex.Message);
        }
    }

    private byte[] Format(HttpContext context, int status, string caller, GatewayRoles? role, string outcome)
    {
        var endpoint = context.GetEndpoint() as RouteEndpoint;
        var route = Cut(endpoint?.RoutePattern.RawText ?? context.Request.Path.Value ?? "");
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("time"u8, _time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            writer.WriteString("caller"u8, caller);
            writer.WriteString("role"u8, role is { } needed ? RequiredRole.Name(needed) : "any");
            writer.WriteString("method"u8, context.Request.Method);
            writer.WriteString("route"u8, route);
            if (context.Request.RouteValues["model"] is string model)
            {
                writer.WriteString("model"u8, Cut(model));
            }
            else
            {
                writer.WriteNull("model"u8);
            }

            writer.WriteNumber("status"u8, status);
            writer.WriteString("outcome"u8, outcome);
            if (context.Features.Get<AuditDetails>() is { } details)
            {
                writer.WriteStartObject("details"u8);
                foreach (var (name, text, number) in details.Fields)
                {
                    if (number is { } n)
                    {
                        writer.WriteNumber(name, n);
                    }
                    else
                    {
                        writer.WriteString(name, text is null ? null : Cut(text));
                    }
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    // What a caller chose (a path, a model name) is cut short: a line stays a line, not a payload.
    private static string Cut(string text) => text.Length > 256 ? text[..256] : text;

    private static partial class Log
    {
        [LoggerMessage(90, LogLevel.Error, "Could not append to the audit log {Path}: {Reason}")]
        public static partial void WriteFailed(ILogger logger, string path, string reason);
    }
}
