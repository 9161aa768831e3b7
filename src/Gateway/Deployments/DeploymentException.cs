namespace ServingGateway.Deployments;

/// <summary>
/// A deployment step that failed with an HTTP status the caller gets (400 a version that cannot load, 502 a node that
/// failed or could not be reached, 503 no node), or a rollout call refused (400 a bad body, 404 an unknown model,
/// version or rollout, 409 a call its state does not allow, 413 a body too large).
/// </summary>
internal sealed class DeploymentException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}
