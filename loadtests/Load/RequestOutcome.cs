namespace ServingGateway.LoadTool.Load;

/// <summary>
/// What became of one request: the HTTP status (0 when no response came: a connection error or a
/// timeout), why it failed (null on success), and the X-Cache and X-Served-By headers.
/// </summary>
internal readonly record struct RequestOutcome(int Target, int StatusCode, string? Error, string? Cache, string? ServedBy)
{
    /// <summary>A 2xx response.</summary>
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    /// <summary>Whether a response came at all (any status).</summary>
    public bool HasResponse => StatusCode > 0;

    /// <summary>The run was stopped (Ctrl+C) while the request was in flight; it is not recorded.</summary>
    public bool Aborted => StatusCode < 0;

    public static RequestOutcome Failure(int target, string reason) => new(target, 0, reason, null, null);

    public static RequestOutcome Abort(int target) => new(target, -1, "aborted", null, null);
}
