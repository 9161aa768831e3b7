using System.Globalization;
using ServingGateway.LoadTool.Results;
using Spectre.Console;

namespace ServingGateway.LoadTool.Progress;

/// <summary>
/// Shows a run while it goes: elapsed time, the rate and p99 of the last second, p99 so far, errors
/// and requests in flight. On a terminal a Spectre.Console live table refreshed twice a second;
/// when output is redirected, a plain line on standard error every 5 seconds.
/// </summary>
internal sealed class LiveProgress(TimeProvider timeProvider, bool interactive, TextWriter plainOutput)
{
    private static readonly TimeSpan InteractiveInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    /// <summary>Live on a terminal, plain lines on standard error otherwise.</summary>
    public static LiveProgress ForConsole() =>
        new(TimeProvider.System, AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected, Console.Error);

    public async Task ShowAsync(Task run, Func<ProgressSnapshot> read, string description, TimeSpan duration)
    {
        if (interactive)
        {
            await AnsiConsole.Live(Render(read(), description, duration)).AutoClear(true).StartAsync(async context =>
            {
                while (!run.IsCompleted)
                {
                    await WaitAsync(run, InteractiveInterval).ConfigureAwait(false);
                    context.UpdateTarget(Render(read(), description, duration));
                }
            }).ConfigureAwait(false);
            return;
        }

        while (!run.IsCompleted)
        {
            await WaitAsync(run, PlainInterval).ConfigureAwait(false);
            if (!run.IsCompleted)
            {
                await plainOutput.WriteLineAsync(Line(read(), duration)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The plain progress line, e.g. "12s/30s rate 1999/s p99 1.21 ms (last s 1.18 ms) errors 0 in flight 2".</summary>
    public static string Line(ProgressSnapshot snapshot, TimeSpan duration)
    {
        var inv = CultureInfo.InvariantCulture;
        if (snapshot.Elapsed < TimeSpan.Zero)
        {
            return string.Create(inv, $"warm-up, {-snapshot.Elapsed.TotalSeconds:0}s left: {snapshot.Warmup} requests, in flight {snapshot.InFlight}");
        }

        var last = snapshot.LastSecond;
        return string.Create(inv,
            $"{snapshot.Elapsed.TotalSeconds:0}s/{duration.TotalSeconds:0}s rate {last?.Finished ?? 0}/s p99 {snapshot.P99Ms:0.###} ms (last s {last?.P99Ms ?? 0:0.###} ms) errors {snapshot.Errors} in flight {snapshot.InFlight}");
    }

    private static Table Render(ProgressSnapshot snapshot, string description, TimeSpan duration)
    {
        var warm = snapshot.Elapsed < TimeSpan.Zero;
        var last = snapshot.LastSecond;
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(description));
        table.AddColumns("elapsed", "rate (last s)", "p99 (last s)", "p99 (so far)", "errors", "in flight");
        table.AddRow(
            warm ? string.Create(CultureInfo.InvariantCulture, $"warm-up {-snapshot.Elapsed.TotalSeconds:0}s") : string.Create(CultureInfo.InvariantCulture, $"{snapshot.Elapsed.TotalSeconds:0}s / {duration.TotalSeconds:0}s"),
            string.Create(CultureInfo.InvariantCulture, $"{last?.Finished ?? 0}/s"),
            string.Create(CultureInfo.InvariantCulture, $"{last?.P99Ms ?? 0:0.###} ms"),
            string.Create(CultureInfo.InvariantCulture, $"{snapshot.P99Ms:0.###} ms"),
            snapshot.Errors == 0 ? "0" : $"[red]{snapshot.Errors}[/]",
            snapshot.InFlight.ToString(CultureInfo.InvariantCulture));
        return table;
    }

    // Not cancelled with the run: after Ctrl+C the run ends on its own, and the display follows it.
    private Task WaitAsync(Task run, TimeSpan interval) => Task.WhenAny(run, Task.Delay(interval, timeProvider));
}
