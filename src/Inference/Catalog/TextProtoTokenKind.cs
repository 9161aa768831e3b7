namespace ServingGateway.Inference.Catalog;

/// <summary>The kinds of token of protobuf's text format.</summary>
internal enum TextProtoTokenKind
{
    /// <summary>A field name, an enum value or true/false.</summary>
    Identifier,

    /// <summary>A number as written (integer, hexadecimal or floating point, maybe negative).</summary>
    Number,

    /// <summary>A quoted string; the token's text is the value, escapes resolved.</summary>
    String,

    /// <summary>One of <c>{ } &lt; &gt; [ ] : , ;</c>.</summary>
    Symbol,

    /// <summary>The end of the text.</summary>
    End,
}
