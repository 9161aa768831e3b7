using System.Globalization;
using System.Text;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// Splits protobuf's text format into tokens: identifiers, numbers, quoted strings (single or double quotes,
/// C escapes, adjacent strings left for the parser to join) and the symbols <c>{ } &lt; &gt; [ ] : , ;</c>;
/// <c>#</c> starts a comment that runs to the end of the line.
/// </summary>
internal sealed class TextProtoTokenizer
{
    private readonly string _text;
    private int _position;
    private int _line = 1;
    private int _lineStart;

    public TextProtoTokenizer(string text)
    {
        _text = text;
    }

    /// <summary>Reads the next token; <see cref="TextProtoTokenKind.End"/> at the end, again and again.</summary>
    /// <exception cref="TextProtoException">A character that starts no token, an unterminated string, a bad escape.</exception>
    public TextProtoToken Next()
    {
        SkipSpaceAndComments();
        var line = _line;
        var column = _position - _lineStart + 1;
        if (_position >= _text.Length)
        {
            return new TextProtoToken(TextProtoTokenKind.End, "", line, column);
        }

        var c = _text[_position];
        if (c is '{' or '}' or '<' or '>' or '[' or ']' or ':' or ',' or ';')
        {
            _position++;
            return new TextProtoToken(TextProtoTokenKind.Symbol, c.ToString(), line, column);
        }

        if (c is '"' or '\'')
        {
            return new TextProtoToken(TextProtoTokenKind.String, ReadString(line, column), line, column);
        }

        if (IsIdentifierStart(c))
        {
            return new TextProtoToken(TextProtoTokenKind.Identifier, ReadWhile(IsIdentifierPart), line, column);
        }

        if (char.IsAsciiDigit(c) || ((c is '-' or '.') && _position + 1 < _text.Length && (char.IsAsciiDigit(_text[_position + 1]) || _text[_position + 1] == '.')))
        {
            var start = _position;
            _position++;
            ReadWhile(ch => char.IsAsciiLetterOrDigit(ch) || ch is '.' || ((ch is '+' or '-') && _text[_position - 1] is 'e' or 'E'));
            return new TextProtoToken(TextProtoTokenKind.Number, _text[start.._position], line, column);
        }

        if (c == '-' && _position + 1 < _text.Length && IsIdentifierStart(_text[_position + 1]))
        {
            // -inf, -nan
            _position++;
            return new TextProtoToken(TextProtoTokenKind.Number, "-" + ReadWhile(IsIdentifierPart), line, column);
        }

        throw new TextProtoException(line, column, $"unexpected character '{c}'");
    }

    private static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private string ReadWhile(Func<char, bool> predicate)
    {
        var start = _position;
        while (_position < _text.Length && predicate(_text[_position]))
        {
            _position++;
        }

        return _text[start.._position];
    }

    private void SkipSpaceAndComments()
    {
        while (_position < _text.Length)
        {
            var c = _text[_position];
            if (c == '\n')
            {
                _position++;
                _line++;
                _lineStart = _position;
            }
            else if (char.IsWhiteSpace(c))
            {
                _position++;
            }
            else if (c == '#')
            {
                while (_position < _text.Length && _text[_position] != '\n')
                {
                    _position++;
                }
            }
            else
            {
                return;
            }
        }
    }

    // A string ends on its own line: a newline or the end of the file before the closing quote is an error.
    private string ReadString(int line, int column)
    {
        var quote = _text[_position++];
        var value = new StringBuilder();
        while (true)
        {
            if (_position >= _text.Length || _text[_position] == '\n')
            {
                throw new TextProtoException(line, column, "unterminated string");
            }

            var c = _text[_position++];
            if (c == quote)
            {
                return value.ToString();
            }

            if (c != '\\')
            {
                value.Append(c);
                continue;
            }

            if (_position >= _text.Length)
            {
                throw new TextProtoException(line, column, "unterminated string");
            }

            var escapeColumn = _position - _lineStart;
            var e = _text[_position++];
            switch (e)
            {
                case 'n': value.Append('\n'); break;
                case 't': value.Append('\t'); break;
                case 'r': value.Append('\r'); break;
                case 'a': value.Append('\a'); break;
                case 'b': value.Append('\b'); break;
                case 'f': value.Append('\f'); break;
                case 'v': value.Append('\v'); break;
                case '\\' or '\'' or '"' or '?': value.Append(e); break;
                case 'x':
                    value.Append((char)ReadDigits(16, 2, line, escapeColumn));
                    break;
                case 'u':
                    value.Append((char)ReadDigits(16, 4, line, escapeColumn, exact: true));
                    break;
                case >= '0' and <= '7':
                    _position--;
                    value.Append((char)ReadDigits(8, 3, line, escapeColumn));
                    break;
                default:
                    throw new TextProtoException(line, escapeColumn, $"unknown escape '\\{e}' in a string");
            }
        }
    }

    private int ReadDigits(int radix, int max, int line, int column, bool exact = false)
    {
        var start = _position;
        while (_position < _text.Length && _position - start < max
            && (radix == 16 ? char.IsAsciiHexDigit(_text[_position]) : _text[_position] is >= '0' and <= '7'))
        {
            _position++;
        }

        if (_position == start || (exact && _position - start != max))
        {
            throw new TextProtoException(line, column, "bad escape in a string: expected " + (radix == 16 ? "hexadecimal" : "octal") + " digits");
        }

        var digits = _text.AsSpan(start, _position - start);
        return radix == 16 ? int.Parse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture) : Convert.ToInt32(digits.ToString(), 8);
    }
}
