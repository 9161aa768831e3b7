namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// How requests reach the server (<c>--protocol</c>): the REST API (JSON or the binary tensor data extension),
/// or the <c>inference.GRPCInferenceService</c> service's ModelInfer with <c>raw_input_contents</c>.
/// </summary>
internal enum LoadProtocol
{
    Http,
    Grpc,
}
