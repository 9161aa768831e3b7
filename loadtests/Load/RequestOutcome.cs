using ServingGateway.LoadTool.Results;

namespace ServingGateway.LoadTool.Load;

/// <summary>
/// What became of one request: the HTTP or gRPC status (HTTP 0 when no response came: a connection error or a
/// timeout), why it failed (null on success), the X-Cache and X-Served-By headers, whether it carried a
/// retry delay (Retry-After, or gRPC's retry-after trailer), and the model version that answered (REST: the
/// X-Model-Version header; gRPC: the response's model_version).
/// </summary>
internal readonly record struct RequestOutcome(int Target, ResponseStatus StatusCode, string? Error, string? Cache, string? ServedBy, bool RetryAfter = false, string? Version = null)
{
    /// <summary>A 2xx response (gRPC: OK).</summary>
    public bool IsSuccess => StatusCode.IsSuccess;

    /// <summary>A refusal: 503 (overloaded) or 429 (rate limited), gRPC UNAVAILABLE or RESOURCE_EXHAUSTED, which a server should answer fast, with a retry delay.</summary>
    public bool IsRefusal => StatusCode.IsRefusal;

    /// <summary>Whether a response came at all (any status).</summary>
    public bool HasResponse => StatusCode.HasResponse;

    /// <summary>The run was stopped (Ctrl+C) while the request was in flight; it is not recorded.</summary>
    public bool Aborted => StatusCode.Aborted;

    public static RequestOutcome Failure(int target, string reason) => new(target, ResponseStatus.None, reason, null, null);

    public static RequestOutcome Abort(int target) => new(target, -1, "aborted", null, null);
}
