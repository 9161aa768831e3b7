using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ServingGateway.Auth;
using ServingGateway.Inference.Common;
using ServingGateway.Inference.Http;

namespace ServingGateway.Observability;

/// <summary>
/// Triton's trace and logging extensions on every role: <c>GET/POST /v2/trace/setting</c> (the sampling of
/// <see cref="TraceSettings"/>) and <c>GET/POST /v2/logging</c> (<see cref="LogLevelSwitch"/>). Reading needs the
/// infer role, changing needs admin (and is audited). Settings Triton has and this server does not (trace files,
/// tensor traces, log files) are refused with 400 when asked for, never silently ignored.
/// </summary>
internal static class TraceEndpoints
{
    // A settings body is a few keys: anything longer is refused unread.
    private const int MaxBodyBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapTraceEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v2/trace/setting", static context => WriteTraceAsync(context)).RequireRole(GatewayRoles.Infer);
        endpoints.MapPost("/v2/trace/setting", ChangeTraceAsync).RequireRole(GatewayRoles.Admin);
        endpoints.MapGet("/v2/logging", static context => WriteLoggingAsync(context)).RequireRole(GatewayRoles.Infer);
        endpoints.MapPost("/v2/logging", ChangeLoggingAsync).RequireRole(GatewayRoles.Admin);
        return endpoints;
    }

    private static async Task ChangeTraceAsync(HttpContext context)
    {
        if (await ReadObjectAsync(context) is not { } body)
        {
            return;
        }

        var settings = context.RequestServices.GetRequiredService<TraceSettings>();
        bool? on = null;
        double? ratio = null;
        var errors = new List<string>();
        foreach (var property in body.RootElement.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "trace_level":
                    on = TraceLevel(value, errors);
                    break;
                case "trace_rate":
                    if (Integer(value) is { } rate and >= 1)
                    {
                        ratio = 1.0 / rate;
                    }
                    else
                    {
                        errors.Add("trace_rate must be a whole number from 1 (every new trace) up: one new trace in trace_rate is recorded");
                    }

                    break;
                case "sample_ratio":
                    if (value.ValueKind == JsonValueKind.Number && value.GetDouble() is >= 0 and <= 1 and var share)
                    {
                        ratio = share;
                    }
                    else
                    {
                        errors.Add("sample_ratio must be a number from 0 to 1");
                    }

                    break;
                case "trace_count" when Integer(value) == -1:
                case "log_frequency" when Integer(value) == 0:
                case "trace_file" when value.ValueKind == JsonValueKind.String && value.GetString() is "":
                case "trace_mode" when value.ValueKind == JsonValueKind.String && value.GetString() == "opentelemetry":
                    break; // what this server does anyway
                case "trace_count" or "log_frequency" or "trace_file" or "trace_mode":
                    errors.Add($"{property.Name} cannot be changed: spans go to the configured exporter (Telemetry:OtlpEndpoint or Telemetry:Console), every sampled one");
                    break;
                default:
                    errors.Add($"unknown trace setting '{property.Name}' (trace_level, trace_rate, sample_ratio)");
                    break;
            }
        }

        if (on == true && !settings.HasExporter)
        {
            errors.Add("tracing has no exporter: set Telemetry:OtlpEndpoint or Telemetry:Console at start");
        }

        if (errors.Count > 0)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, string.Join("; ", errors));
            return;
        }

        settings.Change(on, ratio);
        await WriteTraceAsync(context);
    }

    private static async Task WriteTraceAsync(HttpContext context)
    {
        var settings = context.RequestServices.GetRequiredService<TraceSettings>();
        var options = context.RequestServices.GetRequiredService<TelemetryOptions>();
        await JsonResponses.WriteObjectAsync(context, writer =>
        {
            writer.WriteStartArray("trace_level");
            writer.WriteStringValue(settings.On ? "TIMESTAMPS" : "OFF");
            writer.WriteEndArray();
            writer.WriteString("trace_rate", settings.Ratio > 0 ? Math.Round(1 / settings.Ratio).ToString(CultureInfo.InvariantCulture) : "0");
            writer.WriteNumber("sample_ratio", settings.Ratio);
            writer.WriteString("trace_count", "-1");
            writer.WriteString("log_frequency", "0");
            writer.WriteString("trace_file", "");
            writer.WriteString("trace_mode", "opentelemetry");
            writer.WriteString("exporter", options switch
            {
                { OtlpEndpoint: not null, Console: true } => "otlp,console",
                { OtlpEndpoint: not null } => "otlp",
                { Console: true } => "console",
                _ => "none",
            });
        });
    }

    private static async Task ChangeLoggingAsync(HttpContext context)
    {
        if (await ReadObjectAsync(context) is not { } body)
        {
            return;
        }

        var filters = context.RequestServices.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>();
        var (info, warning, error, verbose) = Flags(LogLevelSwitch.Default(filters.CurrentValue));
        var errors = new List<string>();
        foreach (var property in body.RootElement.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "log_info" or "log_warning" or "log_error" when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    if (property.Name == "log_info")
                    {
                        info = value.GetBoolean();
                    }
                    else if (property.Name == "log_warning")
                    {
                        warning = value.GetBoolean();
                    }
                    else
                    {
                        error = value.GetBoolean();
                    }

                    break;
                case "log_info" or "log_warning" or "log_error":
                    errors.Add($"{property.Name} must be true or false");
                    break;
                case "log_verbose_level" when Integer(value) is { } level and >= 0:
                    verbose = (int)Math.Min(level, 2);
                    break;
                case "log_verbose_level":
                    errors.Add("log_verbose_level must be a whole number from 0 (none), 1 (debug) or 2 (trace)");
                    break;
                case "log_format" when value.ValueKind == JsonValueKind.String && value.GetString() == "default":
                case "log_file" when value.ValueKind == JsonValueKind.String && value.GetString() is "":
                    break;
                case "log_format" or "log_file":
                    errors.Add($"{property.Name} cannot be changed: logs go to the console in the default format");
                    break;
                default:
                    errors.Add($"unknown logging setting '{property.Name}' (log_info, log_warning, log_error, log_verbose_level)");
                    break;
            }
        }

        if (errors.Count > 0)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, string.Join("; ", errors));
            return;
        }

        context.RequestServices.GetRequiredService<LogLevelSwitch>().Set(
            verbose >= 2 ? LogLevel.Trace : verbose == 1 ? LogLevel.Debug : info ? LogLevel.Information : warning ? LogLevel.Warning : error ? LogLevel.Error : LogLevel.None);
        await WriteLoggingAsync(context);
    }

    private static async Task WriteLoggingAsync(HttpContext context)
    {
        var filters = context.RequestServices.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>();
        var (info, warning, error, verbose) = Flags(LogLevelSwitch.Default(filters.CurrentValue));
        await JsonResponses.WriteObjectAsync(context, writer =>
        {
            writer.WriteString("log_file", "");
            writer.WriteBoolean("log_info", info);
            writer.WriteBoolean("log_warning", warning);
            writer.WriteBoolean("log_error", error);
            writer.WriteNumber("log_verbose_level", verbose);
            writer.WriteString("log_format", "default");
        });
    }

    // Triton's switches for a default level: each severity on when the level lets it through; verbose 1 for debug, 2 for trace.
    private static (bool Info, bool Warning, bool Error, int Verbose) Flags(LogLevel level) =>
        (level <= LogLevel.Information, level <= LogLevel.Warning, level <= LogLevel.Error, level switch { LogLevel.Trace => 2, LogLevel.Debug => 1, _ => 0 });

    private static bool? TraceLevel(JsonElement value, List<string> errors)
    {
        var levels = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
        if (levels.Count == 1 && levels[0].ValueKind == JsonValueKind.String && levels[0].GetString() is "OFF" or "TIMESTAMPS")
        {
            return levels[0].GetString() == "TIMESTAMPS";
        }

        errors.Add("trace_level must be [\"OFF\"] or [\"TIMESTAMPS\"] (spans with their times; tensor traces are not supported)");
        return null;
    }

    // Triton sends numbers as strings ("100"); either form is read.
    private static long? Integer(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetInt64(out var number) => number,
        JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => number,
        _ => null,
    };

    // The body as a JSON object; null once a 4xx has been written (too long, not JSON, not an object).
    private static async Task<JsonDocument?> ReadObjectAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"a settings body holds at most {MaxBodyBytes} bytes");
            return null;
        }

        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                await ErrorResponse.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, $"a settings body holds at most {MaxBodyBytes} bytes");
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            var document = JsonDocument.Parse(buffer.ToArray());
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
        }
        catch (JsonException ex)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, $"the body is not valid JSON: {ex.Message}");
            return null;
        }

        await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, "the body must be a JSON object of settings");
        return null;
    }
}
