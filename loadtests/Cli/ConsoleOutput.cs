using ServingGateway.LoadTool.Reporting;
using Spectre.Console;

namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// The end-of-run output on standard output: Spectre.Console tables on a terminal, the Markdown
/// tables when output is redirected (readable in CI logs, easy to paste).
/// </summary>
internal static class ConsoleOutput
{
    public static void Tables(string title, IEnumerable<ReportTable> tables)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            Console.Out.Write(MarkdownReport.Render(title, tables));
            return;
        }

        foreach (var table in tables)
        {
            var rendered = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(table.Title));
            foreach (var (header, i) in table.Headers.Select((h, i) => (h, i)))
            {
                var column = new TableColumn(Markup.Escape(header));
                rendered.AddColumn(table.IsNumeric(i) ? column.RightAligned() : column);
            }

            if (table.Headers.All(h => h.Length == 0))
            {
                rendered.HideHeaders();
            }

            foreach (var row in table.Rows)
            {
                rendered.AddRow([.. row.Select(cell => cell == "MISSED" ? "[red bold]MISSED[/]" : Markup.Escape(cell))]);
            }

            AnsiConsole.Write(rendered);
        }
    }

    public static void Error(string message) => Console.Error.WriteLine($"error: {message}");

    /// <summary>The command line as reports show it, with the API key hidden.</summary>
    public static string CommandLine(string command, IReadOnlyList<string> args)
    {
        var shown = args.ToArray();
        for (var i = 0; i < shown.Length; i++)
        {
            if (shown[i] == "--api-key" && i + 1 < shown.Length && !shown[i + 1].StartsWith("env:", StringComparison.Ordinal))
            {
                shown[i + 1] = "***";
            }
            else if (shown[i].StartsWith("--api-key=", StringComparison.Ordinal) && !shown[i].StartsWith("--api-key=env:", StringComparison.Ordinal))
            {
                shown[i] = "--api-key=***";
            }
        }

        return string.Join(' ', [command, .. shown]);
    }
}
