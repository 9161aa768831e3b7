namespace ServingGateway.LoadTool.Load;

/// <summary>
/// Sends a run's infer requests over one protocol and turns every result into a <see cref="RequestOutcome"/>;
/// it never throws for a failed request. <see cref="RequestSender"/> speaks REST, <see cref="GrpcRequestSender"/> gRPC.
/// </summary>
internal interface IRequestSender
{
    /// <summary>Sends request <paramref name="index"/> of the run to the target the selector picks.</summary>
    Task<RequestOutcome> SendAsync(long index, CancellationToken cancellationToken);

    /// <summary>Sends the next request of target <paramref name="targetIndex"/>.</summary>
    Task<RequestOutcome> SendToAsync(int targetIndex, CancellationToken cancellationToken);
}
