using System.Diagnostics;
using ServingGateway.Inference.Serving;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Serving;

/// <summary>Child spans start only under a recorded span (issue 15): a request not recorded makes none.</summary>
public sealed class InferenceTelemetryTests
{
    [Fact]
    public void StartChild_UnderARecordedSpanOnly()
    {
        using var source = new ActivitySource($"test.{Guid.NewGuid():N}");
        using var listener = PropagatingListener.Listen(source, o => o.Parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded) || o.Name == "recorded request");
        Activity.Current = null;

        Assert.Null(source.StartChild("encode"));
        using (var unrecorded = source.StartActivity("unrecorded request"))
        {
            Assert.NotNull(unrecorded);
            Assert.Null(source.StartChild("encode"));
        }

        using var recorded = source.StartActivity("recorded request");
        using var child = source.StartChild("encode");
        Assert.NotNull(child);
        Assert.True(child.Recorded);
        Assert.Equal(recorded!.SpanId, child.ParentSpanId);
    }
}
