using System.Diagnostics;

namespace ServingGateway.TestSupport;

/// <summary>
/// Waits on observable state with a deadline, never a fixed sleep: the condition is checked every few
/// milliseconds (a short real wait, not a busy spin that would starve the code under test on two cores),
/// and the test fails naming what was awaited if the deadline passes first.
/// </summary>
internal static class Poll
{
    /// <summary>How long a condition may take on a loaded machine before the test fails.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(60);

    /// <summary>How long work a fake clock has released may take on real time before the test fails.</summary>
    public static readonly TimeSpan ReleasedDeadline = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Awaits <paramref name="task"/> (its result or its exception) for at most the deadline, then fails naming
    /// <paramref name="what"/>: work a fake clock should have released completes within real seconds, and work
    /// still held (a setting not applied) fails the test instead of hanging the run.
    /// </summary>
    public static async Task<T> DoneAsync<T>(Task<T> task, string what, TimeSpan? deadline = null)
    {
        await DoneAsync((Task)task, what, deadline);
        return await task;
    }

    /// <inheritdoc cref="DoneAsync{T}(Task{T}, string, TimeSpan?)"/>
    public static async Task DoneAsync(Task task, string what, TimeSpan? deadline = null)
    {
        var limit = deadline ?? ReleasedDeadline;
        try
        {
            await task.WaitAsync(limit);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            Assert.Fail($"not done within {limit.TotalSeconds:0.#} s: {what}");
        }
    }

    /// <summary>Returns once <paramref name="condition"/> holds; fails with <paramref name="what"/> after the deadline.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? deadline = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, deadline);

    /// <summary>Returns once <paramref name="condition"/> holds; fails with <paramref name="what"/> after the deadline.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? deadline = null) =>
        UntilAsync(condition, () => what, deadline);

    /// <summary>
    /// Returns once <paramref name="condition"/> holds; fails after the deadline with what <paramref name="what"/>
    /// says then (the state the condition saw last, for a failure that only a loaded CI machine shows).
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, Func<string> what, TimeSpan? deadline = null)
    {
        var clock = Stopwatch.StartNew();
        var limit = deadline ?? DefaultDeadline;
        while (!await condition())
        {
            if (clock.Elapsed >= limit)
            {
                Assert.Fail($"not reached within {limit.TotalSeconds:0.#} s: {what()}");
            }

            await Task.Delay(Interval);
        }
    }
}
