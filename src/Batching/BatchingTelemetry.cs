using System.Diagnostics;

namespace ServingGateway.Batching;

/// <summary>
/// The batcher's spans (OpenTelemetry through <see cref="ActivitySource"/>): for each traced request its
/// <c>queue wait</c> (from when it was queued until its batch began to run), and one <c>batch run</c> per batch that
/// carried a traced request, a child of the first such request and linked to every traced request it carried.
/// Requests whose span was not sampled (or with no listener at all) cost one <see cref="Activity.Current"/> read.
/// </summary>
public static class BatchingTelemetry
{
    /// <summary>The <see cref="ActivitySource"/> name to subscribe to.</summary>
    public const string SourceName = "ServingGateway.Batching";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>The context of the caller's span when it is recorded (sampled), else default: what a batch links to.</summary>
    internal static ActivityContext CallerContext() => Activity.Current is { Recorded: true } caller ? caller.Context : default;

    /// <summary>
    /// Starts the spans of a batch about to run at <paramref name="startedAt"/> (timestamps of <paramref name="time"/>):
    /// each traced request's queue wait, ended now, and the batch run, returned running (null when no request was traced).
    /// </summary>
    internal static Activity? StartBatch<TRequest, TResult>(BatchEntry<TRequest, TResult>[] batch, int instance, long startedAt, TimeProvider time)
    {
        ActivityContext parent = default;
        List<ActivityLink>? links = null;
        var rows = 0;
        foreach (var entry in batch)
        {
            rows += entry.Rows;
            if (entry.Trace == default)
            {
                continue;
            }

            if (links is null)
            {
                parent = entry.Trace;
                links = [];
            }

            links.Add(new ActivityLink(entry.Trace));
            var now = time.GetUtcNow().UtcDateTime;
            using var wait = Source.CreateActivity("queue wait", ActivityKind.Internal, entry.Trace);
            if (wait is not null)
            {
                wait.SetStartTime(now - time.GetElapsedTime(entry.EnqueuedAt, startedAt) - time.GetElapsedTime(startedAt));
                wait.Start();
                wait.SetEndTime(now - time.GetElapsedTime(startedAt));
            }
        }

        if (links is null)
        {
            return null;
        }

        var run = Source.StartActivity("batch run", ActivityKind.Internal, parent, links: links);
        run?.SetTag("batch.requests", batch.Length);
        run?.SetTag("batch.rows", rows);
        run?.SetTag("batch.instance", instance);
        return run;
    }
}
