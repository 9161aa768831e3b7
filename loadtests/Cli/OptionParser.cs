using ServingGateway.LoadTool.Scenarios;

namespace ServingGateway.LoadTool.Cli;

/// <summary>
/// Reads a subcommand's arguments: first the <c>--scenario</c> file if one is named, then the
/// switches in order (so they win). <c>--name value</c> and <c>--name=value</c> both work. Every
/// problem is collected, so the user sees them all at once.
/// </summary>
internal static class OptionParser
{
    public static LoadOptions Parse(IReadOnlyList<string> args, CommandKind command, List<string> errors)
    {
        var options = new LoadOptions();
        for (var i = 0; i < args.Count - 1; i++)
        {
            if (args[i] == "--scenario")
            {
                ScenarioReader.Apply(args[i + 1], options, command, errors);
            }
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "-h")
            {
                options.Help = true;
                continue;
            }

            var equals = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
            var name = equals > 0 ? arg[..equals] : arg;
            var found = Switches.Find(name, command);
            if (found is null)
            {
                errors.Add(Switches.Find(name, CommandKind.Both) is null && Switches.All.All(s => s.Name != name)
                    ? $"unknown switch '{arg}'"
                    : $"{name} does not apply to this command");
                continue;
            }

            string value;
            if (found.Value is null)
            {
                value = equals > 0 ? arg[(equals + 1)..] : "true";
            }
            else if (equals > 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                errors.Add($"{name} needs a value ({found.Value})");
                continue;
            }

            try
            {
                found.Apply(options, value);
            }
            catch (FormatException ex)
            {
                errors.Add($"{name}: {ex.Message}");
            }
        }

        return options;
    }
}
