using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>Builds OIP requests and reads responses, JSON and binary, the way a client library would.</summary>
internal static class Oip
{
    public const string HeaderLength = "Inference-Header-Content-Length";

    /// <summary>A JSON request with one FP32 input given flat.</summary>
    public static string JsonRequest(string input, long[] shape, float[] data, string? id = null, string extra = "") =>
        $$"""{{{(id is null ? "" : $"\"id\":\"{id}\",")}}"inputs":[{"name":"{{input}}","shape":[{{string.Join(",", shape)}}],"datatype":"FP32","data":[{{string.Join(",", data.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}]{{extra}}}""";

    /// <summary>JSON content without a content type that could matter: the server reads the body as JSON whatever it says.</summary>
    public static ByteArrayContent Json(string json, string contentType = "application/json")
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    /// <summary>A binary-extension request: the JSON header, then the raw bytes of each binary input.</summary>
    public static ByteArrayContent Binary(string jsonHeader, params byte[][] blobs)
    {
        var header = Encoding.UTF8.GetBytes(jsonHeader);
        var content = new ByteArrayContent([.. header, .. blobs.SelectMany(b => b)]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add(HeaderLength, header.Length.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    public static byte[] Bytes(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>A parsed infer response: its JSON and, per binary output, the bytes that followed it.</summary>
    public sealed record Response(JsonElement Json, Dictionary<string, byte[]> Binary)
    {
        public JsonElement Output(string name) => Json.GetProperty("outputs").EnumerateArray().First(o => o.GetProperty("name").GetString() == name);

        public float[] Floats(string name) =>
            Binary.TryGetValue(name, out var bytes)
                ? MemoryMarshal.Cast<byte, float>(bytes).ToArray()
                : [.. Output(name).GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];

        public long[] Shape(string name) => [.. Output(name).GetProperty("shape").EnumerateArray().Select(e => e.GetInt64())];
    }

    /// <summary>Reads a 200 infer response, splitting off binary outputs when the header says so.</summary>
    public static async Task<Response> ReadAsync(HttpResponseMessage message)
    {
        var body = await message.Content.ReadAsByteArrayAsync();
        if (!message.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{(int)message.StatusCode}: {Encoding.UTF8.GetString(body)}");
        }

        var headerLength = message.Headers.TryGetValues(HeaderLength, out var values) ? int.Parse(values.Single(), CultureInfo.InvariantCulture) : body.Length;
        var json = JsonDocument.Parse(body.AsMemory(0, headerLength)).RootElement.Clone();
        var binary = new Dictionary<string, byte[]>();
        var offset = headerLength;
        foreach (var output in json.GetProperty("outputs").EnumerateArray())
        {
            if (output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var size))
            {
                binary[output.GetProperty("name").GetString()!] = body.AsSpan(offset, size.GetInt32()).ToArray();
                offset += size.GetInt32();
            }
        }

        if (offset != body.Length)
        {
            throw new InvalidDataException($"response has {body.Length - offset} bytes past its outputs");
        }

        return new Response(json, binary);
    }

    /// <summary>Reads an error response and checks it is {"error": "..."} JSON.</summary>
    public static async Task<string> ReadErrorAsync(HttpResponseMessage message)
    {
        Assert.Equal("application/json", message.Content.Headers.ContentType?.MediaType);
        var body = await message.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("error").GetString();
        Assert.False(string.IsNullOrWhiteSpace(error));
        return error!;
    }
}
