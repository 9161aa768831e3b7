namespace ServingGateway.Deployments.Fleet;

/// <summary>One node's answer to a fanned-out call: its HTTP status (0 when it could not be reached) and body text (or why it failed).</summary>
internal sealed record NodeCall(string Node, int Status, string Body)
{
    public bool Succeeded => Status is >= 200 and < 300;

    /// <summary>"node: why" for a failed call, the body's text clipped.</summary>
    public string Describe() => $"{Node}: {(Status == 0 ? "unreachable" : Status.ToString(System.Globalization.CultureInfo.InvariantCulture))} {Clip(Body)}";

    private static string Clip(string text) => text.Length <= 300 ? text : text[..300] + "...";
}
