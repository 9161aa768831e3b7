namespace ServingGateway.LoadTool;

/// <summary>
/// A problem the user must fix before a run can start: a bad switch or file, an unreachable server,
/// a payload the server refuses. The tool prints the message and exits with code 2.
/// </summary>
internal sealed class LoadToolException(string message) : Exception(message);
