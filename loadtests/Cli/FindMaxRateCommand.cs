using System.Globalization;
using ServingGateway.LoadTool.Load;
using ServingGateway.LoadTool.Progress;
using ServingGateway.LoadTool.Reporting;
using ServingGateway.LoadTool.Search;
using ServingGateway.LoadTool.Timing;

namespace ServingGateway.LoadTool.Cli;

/// <summary><c>find-max-rate</c>: the highest open-loop rate within a p99 SLO, with the curve.</summary>
internal static class FindMaxRateCommand
{
    /// <summary>The error rate a step may have when --max-error-rate is not given.</summary>
    public const double DefaultMaxErrorRate = 0.01;

    public static async Task<int> ExecuteAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (!RunCommand.TryParse(args, CommandKind.FindMaxRate, out var options))
        {
            return ExitCodes.Usage;
        }

        if (options.Help)
        {
            Console.Out.Write(Usage.For(CommandKind.FindMaxRate));
            return ExitCodes.Ok;
        }

        using var timeProvider = new PreciseTimeProvider();
        using var session = await LoadSession.CreateAsync(options, timeProvider, cancellationToken).ConfigureAwait(false);
        var progress = options.NoProgress ? null : LiveProgress.ForConsole();
        var slo = options.Criterion == SearchCriterion.Goodput ? options.SloMs!.Value : options.SloP99Ms!.Value;
        var search = new MaxRateSearch(
            slo, options.Thresholds.MaxErrorRate ?? DefaultMaxErrorRate, options.StartRate, options.MaxRate, options.Precision, options.MaxSteps, options.Criterion);
        var result = await search.RunAsync(
            async (rate, ct) =>
            {
                var summary = await session.RunAsync(LoadShape.Open(rate), options.StepDuration, options.StepWarmup, progress, ct).ConfigureAwait(false);
                return new StepMeasurement(
                    summary.Throughput, summary.Latency.PercentileMs(50), summary.Latency.PercentileMs(99), summary.ErrorRate, summary.Responses, summary.Goodput);
            },
            step => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {step.Number}: {step.Rate:0.##} req/s -> throughput {step.Measured.Throughput:0.#}/s{(step.Measured.Goodput is { } g ? $", goodput {g:0.#}/s" : "")}, p50 {step.Measured.P50Ms:0.###} ms, p99 {step.Measured.P99Ms:0.###} ms, errors {Formatting.Percent(step.Measured.ErrorRate)}: {step.Verdict}")),
            cancellationToken).ConfigureAwait(false);

        var tables = CurveTables.For(result, options.Criterion, slo, options.Url!.ToString(), string.Join("; ", RunCommand.Describe(session, options)), ConsoleOutput.CommandLine("find-max-rate", args));
        var paths = ReportWriter.WriteCurve(result, options.Criterion == SearchCriterion.P99 ? slo : null, tables, RunCommand.ReportDirectory(options));
        ConsoleOutput.Tables("find-max-rate", tables);
        Console.Out.WriteLine($"Reports: {string.Join(", ", paths)}");
        if (cancellationToken.IsCancellationRequested)
        {
            ConsoleOutput.Error("interrupted; the reports cover the steps that ran");
            return ExitCodes.Usage;
        }

        if (result.MaxRate is null)
        {
            ConsoleOutput.Error("no rate tried kept the SLO");
            return ExitCodes.ThresholdMissed;
        }

        if (options.Thresholds.MinRate is { } minRate && result.MaxRate < minRate)
        {
            ConsoleOutput.Error(string.Create(CultureInfo.InvariantCulture, $"the highest rate within the SLO, {result.MaxRate:0.#} req/s, is below --min-rate {minRate:0.#}"));
            return ExitCodes.ThresholdMissed;
        }

        return ExitCodes.Ok;
    }
}
