using System.Globalization;

namespace ServingGateway.Observability;

/// <summary>
/// Section <c>Telemetry</c>: tracing (docs/CONFIGURATION.md). Off unless an exporter is set: without one no span is
/// started anywhere. Read at start; the sampling can be changed while running through <c>POST /v2/trace/setting</c>.
/// </summary>
internal sealed class TelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>
    /// The share of new traces (requests without a sampled <c>traceparent</c>) that are recorded, 0 to 1. Parent-based:
    /// a request whose caller sampled it is recorded, one whose caller did not is not.
    /// </summary>
    public double SampleRatio { get; set; } = 0.01;

    /// <summary>An OTLP/HTTP collector's base URL (http/protobuf), e.g. http://127.0.0.1:4318; spans go to its /v1/traces.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Writes every recorded span to the console (development).</summary>
    public bool Console { get; set; }

    /// <summary>The service.name resource attribute; default servinggateway-ROLE.</summary>
    public string? ServiceName { get; set; }

    /// <summary>Whether any exporter is configured: tracing is on.</summary>
    public bool Enabled => OtlpEndpoint is not null || Console;

    /// <summary>The OTLP traces URL: the endpoint's /v1/traces unless it names a path of its own.</summary>
    public Uri? OtlpTracesUri => OtlpEndpoint is null
        ? null
        : new Uri(OtlpEndpoint).AbsolutePath is "/" or "" ? new Uri(new Uri(OtlpEndpoint), "/v1/traces") : new Uri(OtlpEndpoint);

    public IEnumerable<string> Validate()
    {
        if (!(SampleRatio >= 0 && SampleRatio <= 1))
        {
            yield return $"Telemetry:SampleRatio must be between 0 and 1; it is {SampleRatio.ToString(CultureInfo.InvariantCulture)}";
        }

        if (OtlpEndpoint is not null
            && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            yield return $"Telemetry:OtlpEndpoint must be an absolute http or https URL (an OTLP/HTTP collector, e.g. http://127.0.0.1:4318); it is '{OtlpEndpoint}'";
        }

        if (ServiceName is { Length: 0 })
        {
            yield return "Telemetry:ServiceName must not be empty";
        }
    }
}
