namespace ServingGateway.LoadTool.Results;

/// <summary>An error class: the status (HTTP or gRPC; <see cref="ResponseStatus.None"/> = no response) and the reason.</summary>
internal readonly record struct ErrorKey(ResponseStatus Status, string Reason)
{
    /// <summary>The status as reports show it: the HTTP number, the gRPC name, or "none" when no response came.</summary>
    public string StatusText => Status.ToString();
}
