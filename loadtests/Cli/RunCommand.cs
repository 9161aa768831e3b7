using System.Globalization;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Progress;
using ServingGateway.LoadTool.Reporting;
using ServingGateway.LoadTool.Thresholds;
using ServingGateway.LoadTool.Timing;

namespace ServingGateway.LoadTool.Cli;

/// <summary><c>run</c>: one load run, its reports, and the threshold verdict as the exit code.</summary>
internal static class RunCommand
{
    public static async Task<int> ExecuteAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (!TryParse(args, CommandKind.Run, out var options))
        {
            return ExitCodes.Usage;
        }

        if (options.Help)
        {
            Console.Out.Write(Usage.For(CommandKind.Run));
            return ExitCodes.Ok;
        }

        using var timeProvider = new PreciseTimeProvider();
        using var session = await LoadSession.CreateAsync(options, timeProvider, cancellationToken).ConfigureAwait(false);
        var progress = options.NoProgress ? null : LiveProgress.ForConsole();
        var summary = await session.RunAsync(options.Load!, options.Duration, options.Warmup, progress, cancellationToken).ConfigureAwait(false);
        var thresholds = ThresholdEvaluator.Evaluate(options.Thresholds, summary);
        var report = new RunReport(summary, thresholds, options.Url!.ToString(), Describe(session, options), ConsoleOutput.CommandLine("run", args), options.ExpectVersion);
        var paths = ReportWriter.WriteRun(report, ReportDirectory(options));
        ConsoleOutput.Tables("Load test", ReportTables.ForRun(report));
        Console.Out.WriteLine($"Reports: {string.Join(", ", paths)}");
        if (cancellationToken.IsCancellationRequested)
        {
            ConsoleOutput.Error("interrupted; the reports cover the part that ran");
            return ExitCodes.Usage;
        }

        var missed = thresholds.Where(t => !t.Passed).ToList();
        if (missed.Count > 0)
        {
            ConsoleOutput.Error("threshold(s) missed: " + string.Join("; ", missed.Select(t => $"{t.Name} {t.Actual}, limit {t.Limit}")));
            return ExitCodes.ThresholdMissed;
        }

        return ExitCodes.Ok;
    }

    /// <summary>Parses and validates; prints every problem and returns false when there are any.</summary>
    internal static bool TryParse(IReadOnlyList<string> args, CommandKind command, out LoadOptions options)
    {
        var errors = new List<string>();
        options = OptionParser.Parse(args, command, errors);
        if (!options.Help)
        {
            errors.AddRange(options.Validate(command));
        }

        foreach (var error in errors)
        {
            ConsoleOutput.Error(error);
        }

        if (errors.Count > 0)
        {
            Console.Error.WriteLine($"See: {(command == CommandKind.Run ? "run" : "find-max-rate")} --help");
        }

        return errors.Count == 0;
    }

    /// <summary>One line per model: name, weight, payload, encoding and number of distinct bodies.</summary>
    internal static IReadOnlyList<string> Describe(LoadSession session, LoadOptions options)
    {
        var targets = options.ResolveTargets();
        return [.. session.Targets.Select((t, i) => string.Create(CultureInfo.InvariantCulture,
            $"{t.Model} (weight {t.Weight}, {targets[i].Payload}, {Encoding(options, targets[i])}, {t.Bodies.Count} distinct request{(t.Bodies.Count == 1 ? "" : "s")})"))];
    }

    private static string Encoding(LoadOptions options, TargetOptions target) =>
        options.Protocol == LoadProtocol.Grpc ? "gRPC raw_input_contents" : target.Binary == true ? "binary" : "JSON";

    internal static string ReportDirectory(LoadOptions options) =>
        options.ReportDir ?? Path.Combine("loadtest-reports", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
}
