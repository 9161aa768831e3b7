namespace ServingGateway.LoadTool.Load;

/// <summary>
/// What became of one request: the HTTP status (0 when no response came: a connection error or a
/// timeout), why it failed (null on success), the X-Cache and X-Served-By headers, and whether it
/// carried Retry-After.
/// </summary>
internal readonly record struct RequestOutcome(int Target, int StatusCode, string? Error, string? Cache, string? ServedBy, bool RetryAfter = false)
{
    /// <summary>A 2xx response.</summary>
    public bool IsSuccess => StatusCode is >= 200 and < 300;

    /// <summary>A refusal: 503 (overloaded) or 429 (rate limited), which a server should answer fast, with Retry-After.</summary>
    public bool IsRefusal => StatusCode is 503 or 429;

    /// <summary>Whether a response came at all (any status).</summary>
    public bool HasResponse => StatusCode > 0;

    /// <summary>The run was stopped (Ctrl+C) while the request was in flight; it is not recorded.</summary>
    public bool Aborted => StatusCode < 0;

    public static RequestOutcome Failure(int target, string reason) => new(target, 0, reason, null, null);

    public static RequestOutcome Abort(int target) => new(target, -1, "aborted", null, null);
}
