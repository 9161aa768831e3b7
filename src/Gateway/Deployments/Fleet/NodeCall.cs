using System.Text.Json;

namespace ServingGateway.Deployments.Fleet;

/// <summary>One node's answer to a fanned-out call: its HTTP status (0 when it could not be reached) and body text (or why it failed).</summary>
internal sealed record NodeCall(string Node, int Status, string Body)
{
    public bool Succeeded => Status is >= 200 and < 300;

    /// <summary>"node: why" for a failed call, the body's text clipped.</summary>
    public string Describe() => $"{Node}: {(Status == 0 ? "unreachable" : Status.ToString(System.Globalization.CultureInfo.InvariantCulture))} {Clip(Body)}";

    /// <summary>
    /// The <c>digest</c> (a stored version) and <c>error</c> of a node's JSON answer to an upload, each null where the
    /// answer has none; null when the body is not JSON.
    /// </summary>
    public (string? Digest, string? Error)? UploadAnswer()
    {
        try
        {
            using var json = JsonDocument.Parse(Body);
            var root = json.RootElement;
            var digest = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("digest", out var d) ? d.GetString() : null;
            var error = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var e) ? e.GetString() : null;
            return (digest, error);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Clip(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
