using System.Text;

namespace ServingGateway.LoadTool.Cli;

/// <summary>The help texts, built from <see cref="Switches"/>.</summary>
internal static class Usage
{
    public const string Tool = """
        Usage: dotnet run --project loadtests -c Release -- COMMAND [switches]

        Load tests a ServingGateway (or any Open Inference Protocol server) and writes reports.

        Commands:
          run             one load run: open loop (--open-rate, --ramp) or closed loop (--closed)
          find-max-rate   the highest open-loop rate whose p99 stays within --slo-p99
          COMMAND --help  the switches of COMMAND

        Exit codes: 0 done (thresholds held), 1 a threshold missed (or no rate kept the SLO),
        2 bad usage, server unreachable, payload refused, or run interrupted.
        """;

    public static string For(CommandKind command)
    {
        var text = new StringBuilder();
        if (command == CommandKind.Run)
        {
            text.AppendLine("Usage: run --url URL --model NAME (--open-rate R | --ramp FROM:TO | --closed N) [switches]")
                .AppendLine()
                .AppendLine("One load run. Open loop: requests leave on schedule whatever the server does, and latency")
                .AppendLine("runs from each request's intended send time (no coordinated omission). Closed loop: N clients,")
                .AppendLine("each waiting for its answer. Reports: Markdown, HTML, CSV, JSON in --report-dir.");
        }
        else
        {
            text.AppendLine("Usage: find-max-rate --url URL --model NAME --slo-p99 MS [switches]")
                .AppendLine()
                .AppendLine("Doubles the open-loop rate from --start-rate until a step misses the SLO (p99, error rate,")
                .AppendLine("throughput ≥ 95% of the rate), then bisects; reports the curve and the highest passing rate.");
        }

        text.AppendLine().AppendLine("Switches:");
        foreach (var option in Switches.All.Where(s => s.Commands.HasFlag(command)))
        {
            var name = option.Value is null ? option.Name : $"{option.Name} {option.Value}";
            text.Append("  ").Append(name.PadRight(22)).Append(' ').AppendLine(option.Help);
        }

        return text.ToString();
    }
}
