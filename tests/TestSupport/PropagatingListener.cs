using System.Diagnostics;

namespace ServingGateway.TestSupport;

/// <summary>
/// Listens to one <see cref="ActivitySource"/> and answers as OpenTelemetry's provider does: a span it records is made
/// recorded, any other is made anyway, unrecorded (<see cref="ActivitySamplingResult.PropagationData"/>), only to carry
/// the context on. Dispose the listener to stop.
/// </summary>
internal static class PropagatingListener
{
    public static ActivityListener Listen(ActivitySource source, Func<ActivityCreationOptions<ActivityContext>, bool> records)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                records(options) ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
