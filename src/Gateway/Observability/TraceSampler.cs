using System.Diagnostics;
using OpenTelemetry.Trace;

namespace ServingGateway.Observability;

/// <summary>
/// Parent-based sampling on <see cref="TraceSettings"/>: nothing while tracing is off; a span with a parent (the
/// caller's traceparent, or a span of this process) follows the parent's sampled flag; a span without one is recorded
/// only when it is a request's span that <see cref="StartRequestSpan"/> starts, the settings having chosen to record
/// that new trace. Any other span without a parent (YARP's forward or the HTTP client's call of a request not
/// recorded) is made unrecorded, only to pass the unsampled context on to the node.
/// </summary>
internal sealed class TraceSampler(TraceSettings settings) : Sampler
{
    private static readonly SamplingResult Drop = new(SamplingDecision.Drop);
    private static readonly SamplingResult Record = new(SamplingDecision.RecordAndSample);

    // Set while StartRequestSpan starts a new trace it was told to record: the sampler runs inside that call.
    [ThreadStatic]
    private static bool t_newRequestTrace;

    /// <summary>
    /// Starts the span of a request that is to be recorded (the caller's sampled context, or a new trace the settings
    /// chose): a child of <paramref name="parent"/>, or a new trace's root when it is default. Never a child of an
    /// activity the host may have started for its logs.
    /// </summary>
    public static Activity? StartRequestSpan(ActivitySource source, string name, ActivityContext parent)
    {
        Activity.Current = null;
        t_newRequestTrace = parent == default;
        try
        {
            return source.StartActivity(name, ActivityKind.Server, parent);
        }
        finally
        {
            t_newRequestTrace = false;
        }
    }

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        if (!settings.On)
        {
            return Drop;
        }

        if (samplingParameters.ParentContext.TraceId != default)
        {
            return (samplingParameters.ParentContext.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? Record : Drop;
        }

        return t_newRequestTrace ? Record : Drop;
    }
}
