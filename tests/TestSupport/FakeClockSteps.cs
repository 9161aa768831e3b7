using Microsoft.Extensions.Time.Testing;

namespace ServingGateway.TestSupport;

/// <summary>
/// Moves a fake clock under code that waits on it from another thread (a batcher's loop, a load waiting for room). One
/// large step can race that code: it arms its timer from its own reading of the clock, and a step taken between that
/// reading and the arming leaves the timer past the test's time, so it waits for a step that never comes (seen in
/// clean-clone CI runs, in four classes). A millisecond at a time, the waiter sees every step. Use it wherever a test
/// steps a fake clock past a wait that another thread arms; a waiter count seen first does not mean the timer is armed.
/// </summary>
internal static class FakeClockSteps
{
    /// <summary>Advances <paramref name="time"/> a millisecond at a time until <paramref name="done"/>; returns how far.</summary>
    public static async Task<TimeSpan> AdvanceUntilAsync(FakeTimeProvider time, Func<bool> done, string what, TimeSpan? patience = null)
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
            what,
            patience);
        return time.GetElapsedTime(start);
    }
}
