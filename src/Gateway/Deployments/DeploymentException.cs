namespace ServingGateway.Deployments;

/// <summary>A deployment step that failed with an HTTP status the caller gets (400 a version that cannot load, 502 a node that failed or could not be reached, 503 no node).</summary>
internal sealed class DeploymentException(int statusCode, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
}
