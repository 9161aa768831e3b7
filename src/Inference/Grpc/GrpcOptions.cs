namespace ServingGateway.Inference.Grpc;

/// <summary>The gRPC service's switches (section <c>Grpc</c>); where it listens is the host's <c>GrpcUrls</c>.</summary>
public sealed class GrpcOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Grpc";

    /// <summary>Serve gRPC server reflection (grpc.reflection.v1 and v1alpha), so grpcurl needs no .proto; off by default.</summary>
    public bool Reflection { get; set; }
}
