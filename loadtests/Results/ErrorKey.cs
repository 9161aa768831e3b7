namespace ServingGateway.LoadTool.Results;

/// <summary>An error class: the HTTP status (0 = no response) and the reason.</summary>
internal readonly record struct ErrorKey(int Status, string Reason)
{
    /// <summary>The status as reports show it: the number, or "none" when no response came.</summary>
    public string StatusText => Status == 0 ? "none" : Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
