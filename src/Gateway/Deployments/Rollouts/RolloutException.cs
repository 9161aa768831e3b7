namespace ServingGateway.Deployments.Rollouts;

/// <summary>A rollout call refused, with the HTTP status (400, 404, 409) and the message its caller gets as <c>{"error": "..."}</c>.</summary>
internal sealed class RolloutException : Exception
{
    public RolloutException(int statusCode, string message)
        : base(message)
    {
        StatusCode = statusCode;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public int StatusCode { get; }

    /// <summary>A 409: the call does not fit the rollout's state.</summary>
    public static RolloutException Conflict(string message) => new(StatusCodes.Status409Conflict, message);
}
