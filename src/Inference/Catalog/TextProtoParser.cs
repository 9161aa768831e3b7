namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Parses protobuf's text format (what Triton's config.pbtxt is written in) into a tree of fields, without a
/// schema: <c>name: value</c>, <c>name { ... }</c> or <c>name: { ... }</c> (or <c>&lt; ... &gt;</c>),
/// repeated fields as <c>x: 1 x: 2</c> or <c>x: [1, 2]</c> (also lists of messages), optional <c>,</c> or
/// <c>;</c> after a field, <c>#</c> comments. What the fields mean is the reader's business
/// (<see cref="TritonConfigReader"/>).
/// </summary>
internal static class TextProtoParser
{
    /// <summary>The depth of nested messages past which a file is refused (Triton's configuration needs 4).</summary>
    public const int MaxDepth = 32;

    /// <summary>Parses <paramref name="text"/>, a whole file: its top-level message.</summary>
    /// <exception cref="TextProtoException">The text is not valid text format; the message says where and why.</exception>
    public static TextProtoMessage Parse(string text)
    {
        var tokens = new TextProtoTokenizer(text);
        var token = tokens.Next();
        return ParseFields(tokens, ref token, closing: null, line: 1, column: 1, depth: 0);
    }

    // Reads fields up to `closing` ('}' or '>'), or to the end of the file when null; leaves `token` after it.
    private static TextProtoMessage ParseFields(TextProtoTokenizer tokens, ref TextProtoToken token, char? closing, int line, int column, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new TextProtoException(line, column, $"messages are nested more than {MaxDepth} deep");
        }

        var fields = new List<TextProtoField>();
        while (true)
        {
            if (closing is { } close && token.Is(close))
            {
                token = tokens.Next();
                return new TextProtoMessage(fields, line, column);
            }

            if (token.Kind == TextProtoTokenKind.End)
            {
                if (closing is null)
                {
                    return new TextProtoMessage(fields, line, column);
                }

                throw new TextProtoException(token.Line, token.Column, $"the message opened at line {line}, column {column} is not closed: expected '{closing}'");
            }

            if (token.Kind != TextProtoTokenKind.Identifier)
            {
                throw new TextProtoException(token.Line, token.Column, $"expected a field name, found {token.Describe()}");
            }

            var name = token;
            token = tokens.Next();
            var colon = token.Is(':');
            if (colon)
            {
                token = tokens.Next();
            }

            if (token.Is('['))
            {
                ParseList(tokens, ref token, name, colon, fields, depth);
            }
            else
            {
                fields.Add(ParseValue(tokens, ref token, name, colon, depth));
            }

            if (token.Is(',') || token.Is(';'))
            {
                token = tokens.Next();
            }
        }
    }

    private static void ParseList(TextProtoTokenizer tokens, ref TextProtoToken token, TextProtoToken name, bool colon, List<TextProtoField> fields, int depth)
    {
        var open = token;
        token = tokens.Next();
        if (token.Is(']'))
        {
            token = tokens.Next();
            return;
        }

        while (true)
        {
            // Inside a list, scalars need no colon of their own: the field's colon covers them.
            fields.Add(ParseValue(tokens, ref token, name, colon: true, depth));
            if (token.Is(']'))
            {
                token = tokens.Next();
                return;
            }

            if (!token.Is(','))
            {
                throw new TextProtoException(token.Line, token.Column,
                    token.Kind == TextProtoTokenKind.End
                        ? $"the list opened at line {open.Line}, column {open.Column} is not closed: expected ']'"
                        : $"expected ',' or ']' in the list of '{name.Text}', found {token.Describe()}");
            }

            token = tokens.Next();
        }
    }

    private static TextProtoField ParseValue(TextProtoTokenizer tokens, ref TextProtoToken token, TextProtoToken name, bool colon, int depth)
    {
        if (token.Is('{') || token.Is('<'))
        {
            var open = token;
            token = tokens.Next();
            var message = ParseFields(tokens, ref token, open.Is('{') ? '}' : '>', open.Line, open.Column, depth + 1);
            return new TextProtoField(name.Text, name.Line, name.Column, null, message);
        }

        if (!colon)
        {
            throw new TextProtoException(token.Line, token.Column, $"expected ':' or '{{' after field name '{name.Text}', found {token.Describe()}");
        }

        if (token.Kind is not (TextProtoTokenKind.Identifier or TextProtoTokenKind.Number or TextProtoTokenKind.String))
        {
            throw new TextProtoException(token.Line, token.Column, $"expected a value for '{name.Text}', found {token.Describe()}");
        }

        var value = token;
        token = tokens.Next();
        if (value.Kind == TextProtoTokenKind.String)
        {
            // Adjacent strings are one value, as in C.
            while (token.Kind == TextProtoTokenKind.String)
            {
                value = value with { Text = value.Text + token.Text };
                token = tokens.Next();
            }
        }

        return new TextProtoField(name.Text, name.Line, name.Column, value, null);
    }
}
