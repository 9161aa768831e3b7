using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>
/// Reads infer requests written by hand or recorded: <c>file:PATH</c> is one OIP JSON request;
/// <c>recorded:PATH</c> is a JSON Lines file (one request a line, blank lines skipped) or a folder
/// of <c>*.json</c> files, one request each, taken in name order.
/// </summary>
internal static class RequestFiles
{
    public static JsonObject ReadOne(string path) => Parse(ReadText(path), path);

    public static IReadOnlyList<JsonObject> ReadRecorded(string path)
    {
        List<JsonObject> requests;
        if (Directory.Exists(path))
        {
            requests = [.. Directory.GetFiles(path, "*.json").Order(StringComparer.Ordinal).Select(ReadOne)];
        }
        else
        {
            requests = [.. ReadText(path).Split('\n')
                .Select((line, i) => (line, i))
                .Where(x => !string.IsNullOrWhiteSpace(x.line))
                .Select(x => Parse(x.line, $"{path} line {x.i + 1}"))];
        }

        return requests.Count > 0 ? requests : throw new LoadToolException($"{path} holds no requests");
    }

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LoadToolException($"cannot read {path}: {ex.Message}");
        }
    }

    private static JsonObject Parse(string json, string where)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new LoadToolException($"{where}: not valid JSON: {ex.Message}");
        }

        if (node is not JsonObject request || request["inputs"] is not JsonArray { Count: > 0 })
        {
            throw new LoadToolException($"{where}: not an infer request (a JSON object with a non-empty \"inputs\" array)");
        }

        return request;
    }
}
