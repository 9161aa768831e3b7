namespace ServingGateway.LoadTool.Load;

/// <summary>
/// Sends request number <c>index</c> of a run and returns what became of it. It never throws:
/// failures are outcomes. The runners read the clock around it.
/// </summary>
internal delegate Task<RequestOutcome> SendRequest(long index, CancellationToken cancellationToken);
