using System.Text.Json;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The body of <c>POST /admin/models/{m}/rollouts</c> (docs/API.md), read and checked whole: every error in it is
/// listed in one 400. What it cannot know (the version on disk, a rollout already running) the driver checks.
/// </summary>
internal static class RolloutRequest
{
    /// <summary>Canary steps when the body names none.</summary>
    public static readonly IReadOnlyList<int> DefaultSteps = [5, 25, 50, 100];

    /// <summary>step_seconds when the body names none.</summary>
    public const int DefaultStepSeconds = 60;

    /// <summary>The longest step, one day.</summary>
    public const int MaxStepSeconds = 86_400;

    /// <summary>The most steps.</summary>
    public const int MaxSteps = 20;

    /// <summary>sample_ratio when the body names none.</summary>
    public const double DefaultSampleRatio = 0.1;

    private static readonly string[] Fields = ["version", "strategy", "steps", "step_seconds", "sample_ratio", "analysis"];
    private static readonly string[] AnalysisFields = ["max_error_rate", "max_p99_ms", "max_p99_ratio", "min_requests", "max_output_divergence"];

    /// <summary>The rollout <paramref name="utf8Json"/> asks for.</summary>
    /// <exception cref="DeploymentException">400 listing every error.</exception>
    public static RolloutSpec Parse(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw new DeploymentException(StatusCodes.Status400BadRequest, $"malformed JSON: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new DeploymentException(StatusCodes.Status400BadRequest, "the body must be a JSON object: {\"version\": N, \"strategy\": \"canary\" | \"blue-green\", ...}");
            }

            var errors = new List<string>();
            Unknown(root, Fields, "", errors);
            long version = -1;
            if (!root.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out version) || version < 0)
            {
                errors.Add("\"version\" must be a version number (an integer of at least 0)");
            }

            RolloutStrategy? strategy = null;
            if (root.TryGetProperty("strategy", out var s) && s.ValueKind == JsonValueKind.String)
            {
                strategy = s.GetString() switch
                {
                    "canary" => RolloutStrategy.Canary,
                    "blue-green" => RolloutStrategy.BlueGreen,
                    _ => null,
                };
            }

            if (strategy is null)
            {
                errors.Add("\"strategy\" must be \"canary\" or \"blue-green\"");
            }

            var steps = Steps(root, strategy, errors);
            var stepSeconds = Integer(root, "step_seconds", DefaultStepSeconds, 1, MaxStepSeconds, "", errors);
            var sampleRatio = Number(root, "sample_ratio", "", errors, r => r is > 0 and <= 1, "a number above 0 and at most 1") ?? DefaultSampleRatio;
            var analysis = Analysis(root, errors);
            if (errors.Count > 0)
            {
                throw new DeploymentException(StatusCodes.Status400BadRequest, string.Join("; ", errors));
            }

            return new RolloutSpec(version, strategy!.Value, steps, (int)stepSeconds, analysis, sampleRatio);
        }
    }

    private static IReadOnlyList<int> Steps(JsonElement root, RolloutStrategy? strategy, List<string> errors)
    {
        if (!root.TryGetProperty("steps", out var steps))
        {
            return strategy == RolloutStrategy.BlueGreen ? [100] : DefaultSteps;
        }

        if (strategy == RolloutStrategy.BlueGreen)
        {
            errors.Add("\"steps\" apply to a canary; blue-green switches 0 -> 100 after one window");
            return [];
        }

        const string Rule = "\"steps\" must be percents (integers 1-100), increasing, ending at 100";
        if (steps.ValueKind != JsonValueKind.Array || steps.GetArrayLength() is 0 or > MaxSteps)
        {
            errors.Add($"{Rule}, 1 to {MaxSteps} of them");
            return [];
        }

        var list = new List<int>();
        foreach (var step in steps.EnumerateArray())
        {
            if (step.ValueKind != JsonValueKind.Number || !step.TryGetInt32(out var percent) || percent is < 1 or > 100)
            {
                errors.Add($"{Rule}: {step.GetRawText()} is not one");
                return [];
            }

            list.Add(percent);
        }

        if (list.Zip(list.Skip(1)).Any(p => p.Second <= p.First))
        {
            errors.Add($"{Rule}: [{string.Join(", ", list)}] does not increase");
        }
        else if (list[^1] != 100)
        {
            errors.Add($"{Rule}: [{string.Join(", ", list)}] ends at {list[^1]}");
        }

        return list;
    }

    private static RolloutAnalysis Analysis(JsonElement root, List<string> errors)
    {
        if (!root.TryGetProperty("analysis", out var analysis))
        {
            return new RolloutAnalysis(null, null, null, 1, null);
        }

        if (analysis.ValueKind != JsonValueKind.Object)
        {
            errors.Add("\"analysis\" must be an object");
            return new RolloutAnalysis(null, null, null, 1, null);
        }

        Unknown(analysis, AnalysisFields, "analysis.", errors);
        return new RolloutAnalysis(
            Number(analysis, "max_error_rate", "analysis.", errors, r => r is >= 0 and <= 1, "a number from 0 to 1"),
            Number(analysis, "max_p99_ms", "analysis.", errors, r => r > 0, "a number of milliseconds above 0"),
            Number(analysis, "max_p99_ratio", "analysis.", errors, r => r > 0, "a number above 0"),
            Integer(analysis, "min_requests", 1, 0, 1_000_000_000, "analysis.", errors),
            Number(analysis, "max_output_divergence", "analysis.", errors, r => r >= 0, "a number of at least 0"));
    }

    private static double? Number(JsonElement parent, string name, string prefix, List<string> errors, Func<double, bool> valid, string rule)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number) && valid(number))
        {
            return number;
        }

        errors.Add($"\"{prefix}{name}\" must be {rule}");
        return null;
    }

    private static long Integer(JsonElement parent, string name, long fallback, long min, long max, string prefix, List<string> errors)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= min && number <= max)
        {
            return number;
        }

        errors.Add($"\"{prefix}{name}\" must be an integer from {min} to {max}");
        return fallback;
    }

    private static void Unknown(JsonElement parent, string[] known, string prefix, List<string> errors)
    {
        foreach (var property in parent.EnumerateObject())
        {
            if (Array.IndexOf(known, property.Name) < 0)
            {
                errors.Add($"unknown field \"{prefix}{property.Name}\" (known: {string.Join(", ", known)})");
            }
        }
    }
}
