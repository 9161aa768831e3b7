namespace ServingGateway.Inference.Catalog;

/// <summary>
/// A protobuf text-format file that cannot be read, or a value that cannot be used, and where: the message
/// starts with "line L, column C: ".
/// </summary>
internal sealed class TextProtoException : FormatException
{
    public TextProtoException(int line, int column, string message)
        : base($"line {line}, column {column}: {message}")
    {
        Line = line;
        Column = column;
    }

    /// <summary>The 1-based line of the problem.</summary>
    public int Line { get; }

    /// <summary>The 1-based column of the problem.</summary>
    public int Column { get; }
}
