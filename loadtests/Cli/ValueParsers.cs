using System.Globalization;
using ServingGateway.LoadTool.Search;

namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// Parses switch values; each throws <see cref="FormatException"/> with a message fit for the user.
/// </summary>
internal static class ValueParsers
{
    /// <summary>"500ms", "30s", "2m", "1h", or a plain number of seconds.</summary>
    public static TimeSpan Duration(string text)
    {
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ when text.EndsWith('h') => (text[..^1], 3600),
            _ => (text, 1),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsInfinity(value))
        {
            throw new FormatException($"'{text}' is not a duration (e.g. 500ms, 30s, 2m, 1h)");
        }

        return TimeSpan.FromSeconds(value * scale);
    }

    /// <summary>A number above 0.</summary>
    public static double Positive(string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 0) || double.IsInfinity(value))
        {
            throw new FormatException($"'{text}' is not a number above 0");
        }

        return value;
    }

    /// <summary>A number of 0 or more.</summary>
    public static double NonNegative(string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0 || double.IsInfinity(value))
        {
            throw new FormatException($"'{text}' is not a number of 0 or more");
        }

        return value;
    }

    /// <summary>A whole number of at least 1.</summary>
    public static int Count(string text)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 1)
        {
            throw new FormatException($"'{text}' is not a whole number of at least 1");
        }

        return value;
    }

    /// <summary>A fraction from 0 to 1 ("0.01") or a percentage ("1%").</summary>
    public static double Fraction(string text)
    {
        var percent = text.EndsWith('%');
        var number = percent ? text[..^1] : text;
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new FormatException($"'{text}' is not a fraction (0.01) or a percentage (1%)");
        }

        value = percent ? value / 100 : value;
        return value is >= 0 and <= 1 ? value : throw new FormatException($"'{text}' is not between 0 and 1 (0% and 100%)");
    }

    /// <summary>"FROM:TO" in requests per second, each 0 or more, not both 0.</summary>
    public static (double From, double To) Ramp(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 2)
        {
            throw new FormatException($"'{text}' is not FROM:TO (e.g. 100:2000)");
        }

        var from = NonNegative(parts[0]);
        var to = NonNegative(parts[1]);
        return from + to > 0 ? (from, to) : throw new FormatException("a ramp from 0 to 0 sends nothing");
    }

    /// <summary>"NAME=V1,V2": the sizes of input NAME's dynamic dimensions (NAME <c>*</c>: every input).</summary>
    public static (string Name, long[] Sizes) Dim(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new FormatException($"'{text}' is not NAME=SIZE[,SIZE...] (e.g. input_ids=1,128)");
        }

        var sizes = text[(equals + 1)..].Split(',').Select(s =>
            long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) && size >= 1
                ? size
                : throw new FormatException($"'{s}' in '{text}' is not a size of at least 1")).ToArray();
        return (text[..equals], sizes);
    }

    /// <summary>find-max-rate's criterion: "p99" or "goodput".</summary>
    public static SearchCriterion Criterion(string text) => text switch
    {
        "p99" => SearchCriterion.P99,
        "goodput" => SearchCriterion.Goodput,
        _ => throw new FormatException($"'{text}' is not a criterion (p99 or goodput)"),
    };

    /// <summary>--protocol: "http" or "grpc".</summary>
    public static LoadProtocol Protocol(string text) => text switch
    {
        "http" => LoadProtocol.Http,
        "grpc" => LoadProtocol.Grpc,
        _ => throw new FormatException($"'{text}' is not a protocol (http or grpc)"),
    };

    /// <summary>An absolute http:// or https:// URL.</summary>
    public static Uri Url(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw new FormatException($"'{text}' is not an http:// or https:// URL");

    /// <summary>A model version as a repository names its folder: a number without sign or leading zero ("2", not "02").</summary>
    public static string Version(string text) =>
        text is { Length: > 0 and <= 18 } && text[0] != '0' && text.All(char.IsAsciiDigit)
            ? text
            : throw new FormatException($"'{text}' is not a model version (a number such as 2)");

    /// <summary>The API key, or with <c>env:NAME</c> the value of environment variable NAME.</summary>
    public static string ApiKey(string text)
    {
        if (!text.StartsWith("env:", StringComparison.Ordinal))
        {
            return text;
        }

        var value = Environment.GetEnvironmentVariable(text[4..]);
        return string.IsNullOrEmpty(value) ? throw new FormatException($"environment variable {text[4..]} is not set") : value;
    }
}
