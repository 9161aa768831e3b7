using System.Text.Json;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The deployments' state file (<see cref="RolloutOptions.StateFile"/>): every split the rollouts set and every
/// model's latest rollout, as one JSON object <c>{"splits": {model: split}, "rollouts": {model: rollout}}</c>
/// (<see cref="RolloutJson"/>). Written whole on every change, atomically: a temporary file in the same folder,
/// flushed to disk, renamed over the old one; a crash leaves the old state or the new, never half of one.
/// </summary>
internal sealed class RolloutStore
{
    public RolloutStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The file, absolute.</summary>
    public string Path { get; }

    /// <summary>Replaces the file with <paramref name="splits"/> and <paramref name="rollouts"/>.</summary>
    /// <exception cref="IOException">The file could not be written (the old one stays).</exception>
    public void Save(IReadOnlyDictionary<string, TrafficSplit> splits, IEnumerable<Rollout> rollouts)
    {
        var temporary = Path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteStartObject("splits"u8);
                foreach (var (model, split) in splits.OrderBy(s => s.Key, StringComparer.Ordinal))
                {
                    w.WriteStartObject(model);
                    RolloutJson.WriteSplit(w, split);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
                w.WriteStartObject("rollouts"u8);
                foreach (var rollout in rollouts.OrderBy(r => r.Model, StringComparer.Ordinal))
                {
                    w.WriteStartObject(rollout.Model);
                    RolloutJson.WriteRollout(w, rollout);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path, overwrite: true);
    }

    /// <summary>The splits and rollouts the file holds; none when there is no file.</summary>
    /// <exception cref="InvalidDataException">The file is not a state file (with the reason).</exception>
    public (Dictionary<string, TrafficSplit> Splits, List<Rollout> Rollouts) Load()
    {
        var splits = new Dictionary<string, TrafficSplit>(StringComparer.Ordinal);
        var rollouts = new List<Rollout>();
        if (!File.Exists(Path))
        {
            return (splits, rollouts);
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(Path));
            foreach (var split in document.RootElement.GetProperty("splits").EnumerateObject())
            {
                splits[split.Name] = RolloutJson.ReadSplit(split.Value);
            }

            foreach (var rollout in document.RootElement.GetProperty("rollouts").EnumerateObject())
            {
                rollouts.Add(RolloutJson.ReadRollout(rollout.Value));
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"the deployments state file {Path} is not valid ({ex.Message}): fix it, or move it away to start with no splits or rollouts", ex);
        }

        return (splits, rollouts);
    }
}
