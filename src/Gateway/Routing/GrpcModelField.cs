namespace ServingGateway.Routing;

/// <summary>
/// Endpoint metadata of a gRPC method whose request names a model: the number of the message's field that holds the
/// name (<see cref="Auth.NodeEndpointRoles"/> says which). <see cref="GrpcModelNameMiddleware"/> reads it from the
/// body into the <c>model</c> route value, which rate limits, routing and the audit log read as for REST.
/// </summary>
/// <param name="Field">The protobuf field number (1: <c>model_name</c> or <c>name</c>; 2 in the repository requests).</param>
internal sealed record GrpcModelField(int Field)
{
    /// <summary>The YARP route metadata key that carries the field number on an edge.</summary>
    public const string RouteMetadata = "GrpcModelField";
}
