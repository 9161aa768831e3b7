using Microsoft.Extensions.Time.Testing;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests;

/// <summary>
/// Moves a fake clock under a running batcher. One large step can race the batcher's loop: it arms its timer from its
/// own reading of the clock, and a step taken between that reading and the arming leaves the timer past the test's
/// time, so the request waits for a step that never comes (seen in clean-clone CI runs). A millisecond at a time, the
/// loop sees every step.
/// </summary>
internal static class FakeClockSteps
{
    /// <summary>Advances <paramref name="time"/> a millisecond at a time until <paramref name="done"/>; returns how far.</summary>
    public static async Task<TimeSpan> AdvanceUntilAsync(FakeTimeProvider time, Func<bool> done, string what)
    {
        var start = time.GetTimestamp();
        await Poll.UntilAsync(
            () =>
            {
                if (!done())
                {
                    time.Advance(TimeSpan.FromMilliseconds(1));
                }

                return done();
            },
            what);
        return time.GetElapsedTime(start);
    }
}
