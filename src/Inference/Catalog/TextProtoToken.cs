namespace ServingGateway.Inference.Catalog;

/// <summary>One token of protobuf's text format and where it starts (1-based line and column).</summary>
internal readonly record struct TextProtoToken(TextProtoTokenKind Kind, string Text, int Line, int Column)
{
    /// <summary>True for the symbol <paramref name="symbol"/>.</summary>
    public bool Is(char symbol) => Kind == TextProtoTokenKind.Symbol && Text.Length == 1 && Text[0] == symbol;

    /// <summary>The token as an error message quotes it.</summary>
    public string Describe() => Kind switch
    {
        TextProtoTokenKind.End => "the end of the file",
        TextProtoTokenKind.String => "a string",
        _ => $"'{(Text.Length > 32 ? Text[..32] + "..." : Text)}'",
    };
}
