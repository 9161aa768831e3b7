using System.Globalization;
using System.Text.Json;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The one JSON shape of a rollout, its decisions, readings and splits: what <c>GET .../rollouts/current</c> answers
/// and what the state file (<see cref="RolloutStore"/>) holds. Readings: NaN (none) as null, infinity as the string
/// <c>"Infinity"</c>.
/// </summary>
internal static class RolloutJson
{
    /// <summary>The API's spelling of a state.</summary>
    public static string StateName(RolloutState state) => state switch
    {
        RolloutState.Loading => "loading",
        RolloutState.Analyzing => "analyzing",
        RolloutState.Paused => "paused",
        RolloutState.Promoted => "promoted",
        RolloutState.RolledBack => "rolled_back",
        _ => "failed",
    };

    /// <summary>The API's spelling of a strategy.</summary>
    public static string StrategyName(RolloutStrategy strategy) => strategy == RolloutStrategy.Canary ? "canary" : "blue-green";

    /// <summary>The rollout as persisted: what was asked, where it stands and every decision.</summary>
    public static void WriteRollout(Utf8JsonWriter w, Rollout rollout)
    {
        var spec = rollout.Spec;
        w.WriteString("model"u8, rollout.Model);
        w.WriteNumber("version"u8, spec.Version);
        w.WriteNumber("current_version"u8, rollout.Current);
        w.WriteString("strategy"u8, StrategyName(spec.Strategy));
        w.WriteStartArray("steps"u8);
        foreach (var step in spec.Steps)
        {
            w.WriteNumberValue(step);
        }

        w.WriteEndArray();
        w.WriteNumber("step_seconds"u8, spec.StepSeconds);
        w.WriteNumber("sample_ratio"u8, spec.SampleRatio);
        w.WriteStartObject("analysis"u8);
        Optional(w, "max_error_rate", spec.Analysis.MaxErrorRate);
        Optional(w, "max_p99_ms", spec.Analysis.MaxP99Ms);
        Optional(w, "max_p99_ratio", spec.Analysis.MaxP99Ratio);
        w.WriteNumber("min_requests"u8, spec.Analysis.MinRequests);
        Optional(w, "max_output_divergence", spec.Analysis.MaxOutputDivergence);
        w.WriteEndObject();
        w.WriteString("state"u8, StateName(rollout.State));
        w.WriteNumber("step"u8, rollout.Step);
        w.WriteNumber("percent"u8, rollout.Percent);
        w.WriteNumber("extensions"u8, rollout.Extensions);
        w.WriteString("started"u8, rollout.Started);
        w.WriteString("step_ends"u8, rollout.StepEnds);
        w.WriteStartArray("decisions"u8);
        foreach (var decision in rollout.Decisions)
        {
            w.WriteStartObject();
            WriteDecision(w, decision);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    /// <summary>A decision's fields (also the audit log's <c>decision</c>).</summary>
    public static void WriteDecision(Utf8JsonWriter w, RolloutDecision decision)
    {
        w.WriteString("time"u8, decision.Time);
        w.WriteString("by"u8, decision.By);
        w.WriteString("action"u8, decision.Action);
        w.WriteNumber("percent"u8, decision.Percent);
        w.WriteString("reason"u8, decision.Reason);
        if (decision.New is { } newVersion)
        {
            w.WriteStartObject("new"u8);
            WriteEvidence(w, newVersion);
            w.WriteEndObject();
        }

        if (decision.Current is { } current)
        {
            w.WriteStartObject("current"u8);
            WriteEvidence(w, current);
            w.WriteEndObject();
        }
    }

    /// <summary>A version's readings in a window.</summary>
    public static void WriteEvidence(Utf8JsonWriter w, VersionEvidence evidence)
    {
        w.WriteNumber("requests"u8, evidence.Requests);
        w.WriteNumber("errors"u8, evidence.Errors);
        Reading(w, "error_rate", evidence.ErrorRate);
        Reading(w, "p50_ms", evidence.P50Ms);
        Reading(w, "p99_ms", evidence.P99Ms);
        w.WriteNumber("compared"u8, evidence.Compared);
        Reading(w, "divergence", evidence.MaxDivergence);
    }

    /// <summary>A split: <c>{"shares": [{"version", "percent"}], "shadow": {"version", "sample_ratio"} | null}</c>.</summary>
    public static void WriteSplit(Utf8JsonWriter w, TrafficSplit split)
    {
        w.WriteStartArray("shares"u8);
        foreach (var share in split.Shares)
        {
            w.WriteStartObject();
            w.WriteNumber("version"u8, share.Version);
            w.WriteNumber("percent"u8, share.Percent);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (split.Shadow is { } shadow)
        {
            w.WriteStartObject("shadow"u8);
            w.WriteNumber("version"u8, shadow.Version);
            w.WriteNumber("sample_ratio"u8, shadow.SampleRatio);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("shadow"u8);
        }
    }

    /// <summary>A split written by <see cref="WriteSplit"/>.</summary>
    /// <exception cref="InvalidDataException">It is not one.</exception>
    public static TrafficSplit ReadSplit(JsonElement e)
    {
        var shares = e.GetProperty("shares").EnumerateArray()
            .Select(s => new VersionShare(s.GetProperty("version").GetInt64(), s.GetProperty("percent").GetInt32())).ToArray();
        if (shares.Length == 0 || shares.Sum(s => s.Percent) != 100 || shares.Any(s => s.Percent is < 0 or > 100))
        {
            throw new InvalidDataException("a split's shares must sum to 100");
        }

        var shadow = e.TryGetProperty("shadow", out var s) && s.ValueKind == JsonValueKind.Object
            ? new ShadowMirror(s.GetProperty("version").GetInt64(), s.GetProperty("sample_ratio").GetDouble())
            : null;
        return new TrafficSplit(shares, shadow);
    }

    /// <summary>A rollout written by <see cref="WriteRollout"/>.</summary>
    /// <exception cref="InvalidDataException">It is not one.</exception>
    public static Rollout ReadRollout(JsonElement e)
    {
        var a = e.GetProperty("analysis");
        var spec = new RolloutSpec(
            e.GetProperty("version").GetInt64(),
            e.GetProperty("strategy").GetString() switch
            {
                "canary" => RolloutStrategy.Canary,
                "blue-green" => RolloutStrategy.BlueGreen,
                var other => throw new InvalidDataException($"unknown strategy '{other}'"),
            },
            [.. e.GetProperty("steps").EnumerateArray().Select(s => s.GetInt32())],
            e.GetProperty("step_seconds").GetInt32(),
            new RolloutAnalysis(
                OptionalNumber(a, "max_error_rate"), OptionalNumber(a, "max_p99_ms"), OptionalNumber(a, "max_p99_ratio"),
                a.GetProperty("min_requests").GetInt64(), OptionalNumber(a, "max_output_divergence")),
            e.GetProperty("sample_ratio").GetDouble());
        var state = e.GetProperty("state").GetString() switch
        {
            "loading" => RolloutState.Loading,
            "analyzing" => RolloutState.Analyzing,
            "paused" => RolloutState.Paused,
            "promoted" => RolloutState.Promoted,
            "rolled_back" => RolloutState.RolledBack,
            "failed" => RolloutState.Failed,
            var other => throw new InvalidDataException($"unknown state '{other}'"),
        };
        var step = e.GetProperty("step").GetInt32();
        if (step < -1 || step >= spec.Steps.Count || spec.Steps.Count == 0)
        {
            throw new InvalidDataException($"step {step} is not one of the rollout's");
        }

        return new Rollout(
            e.GetProperty("model").GetString()!, spec, e.GetProperty("current_version").GetInt64(), state, step,
            e.GetProperty("extensions").GetInt32(), e.GetProperty("started").GetDateTimeOffset(), e.GetProperty("step_ends").GetDateTimeOffset(),
            e.GetProperty("decisions").EnumerateArray().Select(ReadDecision));
    }

    private static RolloutDecision ReadDecision(JsonElement e) => new(
        e.GetProperty("time").GetDateTimeOffset(), e.GetProperty("by").GetString()!, e.GetProperty("action").GetString()!,
        e.GetProperty("percent").GetInt32(), e.GetProperty("reason").GetString()!,
        e.TryGetProperty("new", out var n) ? ReadEvidence(n) : null,
        e.TryGetProperty("current", out var c) ? ReadEvidence(c) : null);

    private static VersionEvidence ReadEvidence(JsonElement e) => new(
        e.GetProperty("requests").GetInt64(), e.GetProperty("errors").GetInt64(), ReadReading(e, "p50_ms"), ReadReading(e, "p99_ms"),
        e.GetProperty("compared").GetInt64(), ReadReading(e, "divergence"));

    private static void Optional(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static double? OptionalNumber(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static void Reading(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsNaN(value))
        {
            w.WriteNull(name);
        }
        else if (double.IsInfinity(value))
        {
            w.WriteString(name, value > 0 ? "Infinity" : "-Infinity");
        }
        else
        {
            w.WriteNumber(name, value);
        }
    }

    private static double ReadReading(JsonElement e, string name) => e.GetProperty(name) switch
    {
        { ValueKind: JsonValueKind.Number } v => v.GetDouble(),
        { ValueKind: JsonValueKind.String } v => double.Parse(v.GetString()!, CultureInfo.InvariantCulture),
        _ => double.NaN,
    };
}
