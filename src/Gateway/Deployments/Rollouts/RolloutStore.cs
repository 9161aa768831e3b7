using System.Text.Json;

namespace ServingGateway.Deployments.Rollouts;

/// <summary>
/// The deployments' state file (<see cref="RolloutOptions.StateFile"/>): every split the rollouts set and every
/// model's latest rollout, as one JSON object <c>{"splits": {model: split}, "rollouts": {model: rollout}}</c>
/// (<see cref="RolloutJson"/>). Written whole on every change, atomically: a temporary file in the same folder,
/// flushed to disk, renamed over the old one; a crash leaves the old state or the new, never half of one. The same
/// document is what <see cref="RedisRolloutStore"/> keeps in Redis (<see cref="Serialize"/>, <see cref="Parse"/>).
/// </summary>
internal sealed class RolloutStore : IRolloutStore
{
    public RolloutStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The file, absolute.</summary>
    public string Path { get; }

    public string Describe => Path;

    /// <summary>Replaces the file with <paramref name="splits"/> and <paramref name="rollouts"/>.</summary>
    /// <exception cref="IOException">The file could not be written (the old one stays).</exception>
    public void Save(IReadOnlyDictionary<string, TrafficSplit> splits, IEnumerable<Rollout> rollouts)
    {
        var temporary = Path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Serialize(splits, rollouts));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path, overwrite: true);
    }

    /// <summary>The file's last write time: a follower has nothing to follow in a file (one process drives), but may ask.</summary>
    public long? Revision()
    {
        try
        {
            return File.Exists(Path) ? File.GetLastWriteTimeUtc(Path).Ticks : 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The state document: <c>{"splits": {model: split}, "rollouts": {model: rollout}}</c>, indented.</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, TrafficSplit> splits, IEnumerable<Rollout> rollouts)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
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

        return buffer.ToArray();
    }

    /// <summary>A state document back (<see cref="Serialize"/>); <paramref name="source"/> names where it came from in the error.</summary>
    /// <exception cref="InvalidDataException">It is not a state document (with the reason).</exception>
    public static DeploymentsState Parse(ReadOnlySpan<byte> document, string source)
    {
        var splits = new Dictionary<string, TrafficSplit>(StringComparer.Ordinal);
        var rollouts = new List<Rollout>();
        try
        {
            var reader = new Utf8JsonReader(document);
            using var parsed = JsonDocument.ParseValue(ref reader);
            foreach (var split in parsed.RootElement.GetProperty("splits").EnumerateObject())
            {
                splits[split.Name] = RolloutJson.ReadSplit(split.Value);
            }

            foreach (var rollout in parsed.RootElement.GetProperty("rollouts").EnumerateObject())
            {
                rollouts.Add(RolloutJson.ReadRollout(rollout.Value));
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"the deployments state {source} is not valid ({ex.Message}): fix it, or move it away to start with no splits or rollouts", ex);
        }

        return new DeploymentsState(splits, rollouts);
    }

    /// <summary>The splits and rollouts the file holds; none when there is no file.</summary>
    /// <exception cref="InvalidDataException">The file is not a state file (with the reason).</exception>
    public DeploymentsState Load() =>
        File.Exists(Path)
            ? Parse(File.ReadAllBytes(Path), "file " + Path)
            : new DeploymentsState(new Dictionary<string, TrafficSplit>(StringComparer.Ordinal), []);
}
