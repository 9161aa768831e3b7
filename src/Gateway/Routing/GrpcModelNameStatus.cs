namespace ServingGateway.Routing;

/// <summary>What <see cref="GrpcModelName.TryRead"/> found.</summary>
internal enum GrpcModelNameStatus
{
    /// <summary>The name was read.</summary>
    Read,

    /// <summary>More of the body is needed (it has not all arrived, and the prefix is not full).</summary>
    NeedMore,

    /// <summary>The message does not name a model (the field is not set, or empty: all models, for statistics).</summary>
    Absent,

    /// <summary>The message goes on past the prefix, and the prefix holds no name.</summary>
    NotInPrefix,

    /// <summary>The message is compressed (grpc-encoding): its bytes are not read here.</summary>
    Compressed,

    /// <summary>Not a gRPC frame of a protobuf message, or the name is longer than a model name or not UTF-8.</summary>
    Malformed,
}
