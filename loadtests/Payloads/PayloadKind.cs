namespace ServingGateway.LoadTool.Payloads;

/// <summary>The kinds of <see cref="PayloadSource"/>.</summary>
internal enum PayloadKind
{
    Generated,
    File,
    Recorded,
}
