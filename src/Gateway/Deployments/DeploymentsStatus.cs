using System.Text.Json;
using ServingGateway.Deployments.Rollouts;

namespace ServingGateway.Deployments;

/// <summary>
/// The traffic section of the status page's data (<c>GET /status/data</c>, docs/API.md): the splits this process routes
/// by and every model's latest rollout in brief. Registered where deployments are (standalone and edge).
/// </summary>
internal sealed class DeploymentsStatus(ITrafficSplits splits, RolloutDriver rollouts)
{
    /// <summary>What the summary says when no model has a split.</summary>
    public const string NoSplits = "no traffic split: every request goes to the version it names, or the highest ready one";

    /// <summary>Writes <c>{"splits": [{"model", "shares", "shadow"}], "rollouts": [...], "summary"}</c>.</summary>
    public void WriteTraffic(Utf8JsonWriter w)
    {
        var all = splits.All.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        w.WriteStartObject();
        w.WriteStartArray("splits"u8);
        foreach (var (model, split) in all)
        {
            w.WriteStartObject();
            w.WriteString("model"u8, model);
            RolloutJson.WriteSplit(w, split);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WritePropertyName("rollouts"u8);
        rollouts.WriteSummaries(w);
        w.WriteString("summary"u8, all.Count == 0
            ? NoSplits
            : string.Join("; ", all.Select(p => $"{p.Key}: " + string.Join(", ", p.Value.Shares.Select(s => $"{s.Percent}% to version {s.Version}"))
                + (p.Value.Shadow is { } shadow ? $", {shadow.SampleRatio:0.##} mirrored to version {shadow.Version}" : ""))));
        w.WriteEndObject();
    }
}
