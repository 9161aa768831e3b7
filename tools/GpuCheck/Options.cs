using System.Globalization;

namespace ServingGateway.GpuCheck;

/// <summary>"--name value" pairs of a subcommand; an unknown or missing name is a usage error.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = [];

    private Options()
    {
    }

    public static Options? Parse(string[] args, params string[] known)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!known.Contains(args[i]) || i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"unknown option or missing value: {args[i]} (known: {string.Join(", ", known)})");
                return null;
            }

            options._values[args[i]] = args[i + 1];
        }

        return options;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name) ?? fallback;

    public double Number(string name, double fallback) =>
        _values.TryGetValue(name, out var value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public int[] Sizes(string name, int[] fallback) =>
        _values.TryGetValue(name, out var value) ? [.. value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))] : fallback;
}
