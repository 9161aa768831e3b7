using System.Text;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>Renders report tables as GitHub-flavoured Markdown.</summary>
internal static class MarkdownReport
{
    public static string Render(string title, IEnumerable<ReportTable> tables, string? note = null)
    {
        var text = new StringBuilder().Append("# ").AppendLine(title).AppendLine();
        if (note is not null)
        {
            text.AppendLine(note).AppendLine();
        }

        foreach (var table in tables)
        {
            AppendTable(text, table);
        }

        return text.ToString();
    }

    private static void AppendTable(StringBuilder text, ReportTable table)
    {
        text.Append("## ").AppendLine(table.Title).AppendLine();
        if (table.Rows.Count == 0)
        {
            text.AppendLine("(none)").AppendLine();
            return;
        }

        // Markdown needs a header row; a key/value table gets an empty one.
        text.Append('|').AppendJoin('|', table.Headers.Select(h => $" {Escape(h)} ")).AppendLine("|");
        text.Append('|').AppendJoin('|', table.Headers.Select((_, i) => table.IsNumeric(i) ? "---:" : "---")).AppendLine("|");
        foreach (var row in table.Rows)
        {
            text.Append('|').AppendJoin('|', row.Select(cell => $" {Escape(cell)} ")).AppendLine("|");
        }

        text.AppendLine();
    }

    private static string Escape(string cell) => cell.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");
}
