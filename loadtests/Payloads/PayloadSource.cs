namespace ServingGateway.LoadTool.Payloads;

/// <summary>Where request bodies come from: <c>generated</c>, <c>file:PATH</c> or <c>recorded:PATH</c>.</summary>
internal sealed record PayloadSource(PayloadKind Kind, string? Path)
{
    public static PayloadSource Generated { get; } = new(PayloadKind.Generated, null);

    public static PayloadSource Parse(string text)
    {
        if (text == "generated")
        {
            return Generated;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? "" : text[..colon];
        var path = colon < 0 ? "" : text[(colon + 1)..];
        return (kind, path.Length) switch
        {
            ("file", > 0) => new PayloadSource(PayloadKind.File, path),
            ("recorded", > 0) => new PayloadSource(PayloadKind.Recorded, path),
            _ => throw new FormatException($"'{text}' is not generated, file:PATH or recorded:PATH"),
        };
    }

    public override string ToString() => Kind switch
    {
        PayloadKind.File => $"file:{Path}",
        PayloadKind.Recorded => $"recorded:{Path}",
        _ => "generated",
    };
}
