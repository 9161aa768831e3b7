namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// One command-line switch: its name, the name of its value (null for a flag), the subcommands it
/// belongs to, its help line, and how it sets <see cref="LoadOptions"/> (it throws
/// <see cref="FormatException"/> on a bad value). <see cref="ScenarioKey"/> is its name in a
/// scenario file, null where a scenario cannot set it.
/// </summary>
internal sealed record Switch(string Name, string? Value, CommandKind Commands, string Help, Action<LoadOptions, string> Apply)
{
    public string? ScenarioKey { get; init; }
}
