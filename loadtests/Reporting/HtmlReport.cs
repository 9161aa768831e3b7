using System.Net;
using System.Text;

namespace ServingGateway.LoadTool.Reporting;

/// <summary>
/// Renders a report as one self-contained HTML file: inline CSS, the plots as inline SVG, the
/// tables. Nothing is loaded from elsewhere, so the file can be mailed or attached to a CI run.
/// </summary>
internal static class HtmlReport
{
    private const string Style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
        th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        th { background: #f4f4f4; }
        .plots { display: flex; flex-wrap: wrap; gap: 1em; }
        .plot { border: 1px solid #eee; }
        .missed { color: #b00; font-weight: bold; } .passed { color: #070; }
        .note { color: #555; }
        """;

    public static string Render(string title, string note, IReadOnlyList<ReportTable> tables, IReadOnlyList<string> svgPlots)
    {
        var html = new StringBuilder()
            .AppendLine("<!DOCTYPE html>")
            .AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<title>").Append(Encode(title)).AppendLine("</title>")
            .Append("<style>").Append(Style).AppendLine("</style></head><body>")
            .Append("<h1>").Append(Encode(title)).AppendLine("</h1>")
            .Append("<p class=\"note\">").Append(Encode(note)).AppendLine("</p>");
        if (tables.Count > 0)
        {
            AppendTable(html, tables[0]);
        }

        if (svgPlots.Count > 0)
        {
            html.AppendLine("<h2>Plots</h2><div class=\"plots\">");
            foreach (var svg in svgPlots)
            {
                html.Append("<div class=\"plot\">").Append(svg).AppendLine("</div>");
            }

            html.AppendLine("</div>");
        }

        foreach (var table in tables.Skip(1))
        {
            AppendTable(html, table);
        }

        return html.AppendLine("</body></html>").ToString();
    }

    private static void AppendTable(StringBuilder html, ReportTable table)
    {
        html.Append("<h2>").Append(Encode(table.Title)).AppendLine("</h2>");
        if (table.Rows.Count == 0)
        {
            html.AppendLine("<p>(none)</p>");
            return;
        }

        html.Append("<table>");
        if (table.Headers.Any(h => h.Length > 0))
        {
            html.Append("<tr>").AppendJoin("", table.Headers.Select(h => $"<th>{Encode(h)}</th>")).AppendLine("</tr>");
        }

        foreach (var row in table.Rows)
        {
            html.Append("<tr>");
            for (var i = 0; i < row.Count; i++)
            {
                var css = row[i] switch
                {
                    "MISSED" => " class=\"missed\"",
                    "passed" => " class=\"passed\"",
                    _ => table.IsNumeric(i) ? " class=\"num\"" : "",
                };
                html.Append("<td").Append(css).Append('>').Append(Encode(row[i])).Append("</td>");
            }

            html.AppendLine("</tr>");
        }

        html.AppendLine("</table>");
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
