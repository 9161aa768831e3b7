namespace ServingGateway.LoadTool.Cli;

/// <summary>The subcommands; a switch names those it belongs to.</summary>
[Flags]
internal enum CommandKind
{
    Run = 1,
    FindMaxRate = 2,
    Both = Run | FindMaxRate,
}
