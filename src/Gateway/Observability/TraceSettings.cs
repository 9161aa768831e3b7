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
        _state = new State(options.Enabled, options.SampleRatio);
    }

    /// <summary>Whether spans go anywhere: without an exporter tracing cannot be turned on.</summary>
    public bool HasExporter { get; }

    /// <summary>Whether spans are recorded at all.</summary>
    public bool On => _state.On;

    /// <summary>The share of new traces recorded.</summary>
    public double Ratio => _state.Ratio;

    /// <summary>Whether to record a new trace (a request whose caller sent no traceparent): at <see cref="Ratio"/>, while on.</summary>
    public bool RecordsNewTrace()
    {
        var state = _state;
        return state.On && Random.Shared.NextDouble() < state.Ratio;
    }

    /// <summary>Sets what is given (null: unchanged).</summary>
    public void Change(bool? on, double? ratio)
    {
        lock (_lock)
        {
            var current = _state;
            _state = new State(on ?? current.On, ratio ?? current.Ratio);
        }
    }

    private sealed record State(bool On, double Ratio);
}
