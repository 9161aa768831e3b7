using System.Diagnostics;

namespace ServingGateway.TestSupport;

/// <summary>Runs a command-line tool the tests check files with (promtool, kubectl), bounded in time.</summary>
internal static class ToolProcess
{
    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="args"/> in <paramref name="directory"/> (the current one when
    /// null) and returns its exit code, standard output and standard error; fails the test when it runs past 60 s.
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string program, IEnumerable<string> args, string? directory = null)
    {
        var arguments = args.ToList();
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (directory is not null)
        {
            start.WorkingDirectory = directory;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await Poll.DoneAsync(process.WaitForExitAsync(), $"{program} {string.Join(' ', arguments)}", TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output, await error);
    }
}
