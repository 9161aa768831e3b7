using System.Diagnostics;
using OpenTelemetry.Trace;
using ServingGateway.Observability;
using ServingGateway.TestSupport;

namespace ServingGateway.Gateway.Tests.Observability;

/// <summary>Parent-based sampling on the settings in force (issue 15 item 1), and the Telemetry options' checks.</summary>
public sealed class TraceSamplerTests
{
    private static readonly ActivityContext SampledParent = new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
    private static readonly ActivityContext UnsampledParent = new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None);

    [Fact]
    public void ShouldSample_RatioZero_OnlyASampledParentIsRecorded()
    {
        var settings = new TraceSettings(new TelemetryOptions { Console = true, SampleRatio = 0 });
        var sampler = new TraceSampler(settings);

        Assert.Equal(SamplingDecision.RecordAndSample, Decide(sampler, SampledParent));
        Assert.Equal(SamplingDecision.Drop, Decide(sampler, UnsampledParent));
        Assert.Equal(SamplingDecision.Drop, Decide(sampler, default));
        Assert.False(settings.RecordsNewTrace());
    }

    [Fact]
    public void StartRequestSpan_RatioOne_EveryNewTraceIsRecordedButNoOtherRootNorAnUnsampledParent()
    {
        var settings = new TraceSettings(new TelemetryOptions { Console = true, SampleRatio = 1 });
        var sampler = new TraceSampler(settings);
        using var source = new ActivitySource($"test.{Guid.NewGuid():N}");
        // As OpenTelemetry's provider runs the sampler: a span it drops is still made, unrecorded.
        using var listener = PropagatingListener.Listen(source, o =>
            sampler.ShouldSample(new SamplingParameters(o.Parent, o.TraceId, o.Name, o.Kind)).Decision == SamplingDecision.RecordAndSample);

        Assert.True(settings.RecordsNewTrace());
        using (var request = TraceSampler.StartRequestSpan(source, "POST", default))
        {
            Assert.NotNull(request);
            Assert.True(request.Recorded);
            Assert.Equal(default, request.ParentSpanId);
        }

        // A root that is not a request's span (YARP's forward of a request not recorded) only carries the context on.
        using (var other = source.StartActivity("proxy.forwarder"))
        {
            Assert.NotNull(other);
            Assert.False(other.Recorded);
        }

        Assert.Equal(SamplingDecision.Drop, Decide(sampler, default));
        Assert.Equal(SamplingDecision.Drop, Decide(sampler, UnsampledParent));
        using var child = TraceSampler.StartRequestSpan(source, "POST", SampledParent);
        Assert.True(child!.Recorded);
        Assert.Equal(SampledParent.TraceId, child.TraceId);
        Assert.Equal(SampledParent.SpanId, child.ParentSpanId);
    }

    [Fact]
    public void RecordsNewTrace_RatioAQuarter_AboutAQuarterOfNewTraces()
    {
        var settings = new TraceSettings(new TelemetryOptions { Console = true, SampleRatio = 0.25 });

        var recorded = Enumerable.Range(0, 4000).Count(_ => settings.RecordsNewTrace());

        Assert.InRange(recorded, 850, 1150); // binomial(4000, 0.25): sd 27
    }

    [Fact]
    public void ShouldSample_ChangedWhileRunning_TheNewSettingsApply()
    {
        var settings = new TraceSettings(new TelemetryOptions { Console = true, SampleRatio = 0 });
        var sampler = new TraceSampler(settings);

        settings.Change(on: null, ratio: 1);
        Assert.True(settings.RecordsNewTrace());

        settings.Change(on: false, ratio: null);
        Assert.False(settings.RecordsNewTrace());
        Assert.Equal(SamplingDecision.Drop, Decide(sampler, SampledParent)); // off is off, whatever the caller asked
        Assert.Equal(1, settings.Ratio);
    }

    [Fact]
    public void ShouldSample_NoExporter_TracingIsOff()
    {
        var settings = new TraceSettings(new TelemetryOptions { SampleRatio = 1 });

        Assert.False(settings.HasExporter);
        Assert.False(settings.RecordsNewTrace());
        Assert.Equal(SamplingDecision.Drop, Decide(new TraceSampler(settings), SampledParent));
    }

    [Theory]
    [InlineData(-0.1, null, "Telemetry:SampleRatio must be between 0 and 1")]
    [InlineData(1.5, null, "Telemetry:SampleRatio must be between 0 and 1")]
    [InlineData(double.NaN, null, "Telemetry:SampleRatio must be between 0 and 1")]
    [InlineData(0.5, "collector:4318", "Telemetry:OtlpEndpoint must be an absolute http or https URL")]
    [InlineData(0.5, "grpc://127.0.0.1:4317", "Telemetry:OtlpEndpoint must be an absolute http or https URL")]
    public void Validate_BadValue_NamesTheKey(double ratio, string? endpoint, string expected)
    {
        var errors = new TelemetryOptions { SampleRatio = ratio, OtlpEndpoint = endpoint }.Validate().ToList();

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces")]
    [InlineData("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces")]
    [InlineData("https://otel.example:4318/custom/traces", "https://otel.example:4318/custom/traces")]
    public void OtlpTracesUri_BaseOrFullUrl_TracesPath(string endpoint, string expected)
    {
        var options = new TelemetryOptions { OtlpEndpoint = endpoint };

        Assert.Empty(options.Validate());
        Assert.Equal(new Uri(expected), options.OtlpTracesUri);
    }

    private static SamplingDecision Decide(Sampler sampler, ActivityContext parent) =>
        sampler.ShouldSample(new SamplingParameters(parent, parent == default ? ActivityTraceId.CreateRandom() : parent.TraceId, "span", ActivityKind.Server)).Decision;
}
