using System.Diagnostics;
using OpenTelemetry.Trace;

namespace ServingGateway.Observability;

/// <summary>
/// Parent-based sampling on <see cref="TraceSettings"/>: nothing while tracing is off; a span with a parent (the
/// caller's traceparent, or a span of this process) follows the parent's sampled flag; a new trace is recorded at
/// the settings' ratio.
/// </summary>
internal sealed class TraceSampler(TraceSettings settings) : Sampler
{
    private static readonly SamplingResult Drop = new(SamplingDecision.Drop);
    private static readonly SamplingResult Record = new(SamplingDecision.RecordAndSample);

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

        return settings.NewTraces.ShouldSample(samplingParameters);
    }
}
