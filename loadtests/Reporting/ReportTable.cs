namespace ServingGateway.LoadTool.Reporting;

/// <summary>
/// A titled table of text cells, built once from the results and rendered by every format
/// (Markdown, HTML, the terminal), so they all say the same thing.
/// </summary>
internal sealed record ReportTable(string Title, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>A table of text (a key/value summary): every column aligned left.</summary>
    public bool TextOnly { get; init; }

    /// <summary>Columns aligned right in Markdown and HTML: after the first, those whose every cell starts with a digit.</summary>
    public bool IsNumeric(int column) =>
        !TextOnly && column > 0 && Rows.All(row => column < row.Count && row[column].Length > 0 && char.IsAsciiDigit(row[column][0]));
}
