using System.Text.Json;
using ServingGateway.LoadTool.Cli;
using ServingGateway.LoadTool.Payloads;

namespace ServingGateway.LoadTool.Scenarios;

/// <summary>
/// Reads a scenario file into <see cref="LoadOptions"/>. A scenario is a JSON object whose keys are
/// the switches' camelCase names (<c>"url"</c>, <c>"openRate"</c>, <c>"duration"</c>, <c>"maxP99Ms"</c>,
/// …, see <see cref="Switch.ScenarioKey"/>), plus <c>"dims"</c> (an object NAME → "1,128") and
/// <c>"models"</c>: an array of <c>{"model", "weight", "payload", "binary", "dims", "variants"}</c>.
/// Keys of the other subcommand are ignored, so one file can serve <c>run</c> and
/// <c>find-max-rate</c>; unknown keys are errors.
/// </summary>
internal static class ScenarioReader
{
    public static void Apply(string path, LoadOptions options, CommandKind command, List<string> errors)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            errors.Add($"--scenario {path}: {ex.Message}");
            return;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"--scenario {path}: not a JSON object");
                return;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                var where = $"{path}: \"{property.Name}\"";
                switch (property.Name)
                {
                    case "models":
                        ReadModels(property.Value, options, where, errors);
                        break;
                    case "dims":
                        ReadDims(property.Value, options.Dims, where, errors);
                        break;
                    default:
                        ApplySwitch(property, options, command, where, errors);
                        break;
                }
            }
        }
    }

    private static void ApplySwitch(JsonProperty property, LoadOptions options, CommandKind command, string where, List<string> errors)
    {
        var found = Switches.All.FirstOrDefault(s => s.ScenarioKey == property.Name);
        if (found is null)
        {
            errors.Add($"{where} is not a scenario key");
            return;
        }

        if (!found.Commands.HasFlag(command))
        {
            return;
        }

        Try(where, errors, () => found.Apply(options, Text(property.Value)));
    }

    private static void ReadModels(JsonElement models, LoadOptions options, string where, List<string> errors)
    {
        if (models.ValueKind != JsonValueKind.Array)
        {
            errors.Add($"{where} must be an array");
            return;
        }

        foreach (var model in models.EnumerateArray())
        {
            if (model.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{where}: each model must be an object");
                continue;
            }

            var target = new TargetOptions();
            foreach (var property in model.EnumerateObject())
            {
                var at = $"{where}[{options.ScenarioTargets.Count}].{property.Name}";
                Try(at, errors, () =>
                {
                    switch (property.Name)
                    {
                        case "model": target.Model = Text(property.Value); break;
                        case "weight": target.Weight = ValueParsers.Count(Text(property.Value)); break;
                        case "payload": target.Payload = PayloadSource.Parse(Text(property.Value)); break;
                        case "binary": target.Binary = bool.Parse(Text(property.Value)); break;
                        case "variants": target.Variants = ValueParsers.Count(Text(property.Value)); break;
                        case "dims": ReadDims(property.Value, target.Dims, at, errors); break;
                        default: throw new FormatException("is not a model key (model, weight, payload, binary, dims, variants)");
                    }
                });
            }

            options.ScenarioTargets.Add(target);
        }
    }

    private static void ReadDims(JsonElement dims, Dictionary<string, long[]> into, string where, List<string> errors)
    {
        if (dims.ValueKind != JsonValueKind.Object)
        {
            errors.Add($"{where} must be an object of NAME: \"SIZE,SIZE\"");
            return;
        }

        foreach (var dim in dims.EnumerateObject())
        {
            Try($"{where}.{dim.Name}", errors, () =>
            {
                var sizes = dim.Value.ValueKind == JsonValueKind.Array
                    ? string.Join(',', dim.Value.EnumerateArray().Select(Text))
                    : Text(dim.Value);
                into[dim.Name] = ValueParsers.Dim($"{dim.Name}={sizes}").Sizes;
            });
        }
    }

    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => throw new FormatException("must be a string, number or true/false"),
    };

    private static void Try(string where, List<string> errors, Action action)
    {
        try
        {
            action();
        }
        catch (FormatException ex)
        {
            errors.Add($"{where}: {ex.Message}");
        }
    }
}
