using OpenTelemetry.Trace;

namespace ServingGateway.Observability;

/// <summary>
/// The sampling in force, the one place both the sampler and <c>/v2/trace/setting</c> read: on or off (Triton's
/// trace_level TIMESTAMPS or OFF) and the ratio of new traces recorded (Triton's trace_rate: one in N). Starts from
/// <see cref="TelemetryOptions"/>; changed while running by the trace setting endpoint (admin).
/// </summary>
internal sealed class TraceSettings
{
    private readonly Lock _lock = new();
    private volatile State _state;

    public TraceSettings(TelemetryOptions options)
    {
        HasExporter = options.Enabled;
        _state = new State(options.Enabled, options.SampleRatio, new TraceIdRatioBasedSampler(options.SampleRatio));
    }

    /// <summary>Whether spans go anywhere: without an exporter tracing cannot be turned on.</summary>
    public bool HasExporter { get; }

    /// <summary>Whether spans are recorded at all.</summary>
    public bool On => _state.On;

    /// <summary>The share of new traces recorded.</summary>
    public double Ratio => _state.Ratio;

    /// <summary>The ratio sampler for new traces (a request whose caller sent no sampled traceparent).</summary>
    public Sampler NewTraces => _state.Sampler;

    /// <summary>Sets what is given (null: unchanged).</summary>
    public void Change(bool? on, double? ratio)
    {
        lock (_lock)
        {
            var current = _state;
            var newRatio = ratio ?? current.Ratio;
            _state = new State(on ?? current.On, newRatio, newRatio == current.Ratio ? current.Sampler : new TraceIdRatioBasedSampler(newRatio));
        }
    }

    private sealed record State(bool On, double Ratio, Sampler Sampler);
}
