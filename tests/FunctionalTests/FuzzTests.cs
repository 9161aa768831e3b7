using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Property test over HTTP: malformed OIP requests (mutations of valid JSON and binary-extension requests)
/// never get a 5xx, never hang, and leave the server answering a valid request correctly. CI runs a fixed
/// seed; SG_FUZZ_SEED and SG_FUZZ_CASES run other seeds and longer (docs/TESTING.md).
/// </summary>
public sealed class FuzzTests
{
    private const int DefaultSeed = 20261130;
    private const int DefaultCases = 3000;
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Infer_MalformedRequests_NeverA5xxNorAHang_ServerStillCorrect()
    {
        var seed = ReadSetting("SG_FUZZ_SEED", DefaultSeed);
        var cases = ReadSetting("SG_FUZZ_CASES", DefaultCases);
        await using var server = await GatewayServer.StartAsync(RepoPaths.TestModels, "--Inference:MaxRequestBodyBytes", "1048576");
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = PerRequest };
        var statuses = new int[600];

        // Four clients at once, each case its own generator seeded from (seed, case): any failure names the
        // case, and rerunning that seed replays it exactly.
        var next = -1;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < cases)
            {
                var generated = RequestFuzzer.Generate(seed, index);
                int status;
                string body;
                try
                {
                    using var request = generated.ToHttpRequest();
                    using var response = await client.SendAsync(request);
                    status = (int)response.StatusCode;
                    body = await response.Content.ReadAsStringAsync();
                    if (status >= 400)
                    {
                        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/json", $"case {index} (seed {seed}): {status} without JSON: {generated}");
                        Assert.True(JsonDocument.Parse(body).RootElement.TryGetProperty("error", out JsonElement _), $"case {index} (seed {seed}): {status} without \"error\": {generated}");
                    }
                }
                catch (TaskCanceledException)
                {
                    throw new Xunit.Sdk.XunitException($"case {index} (seed {seed}) had no answer within {PerRequest.TotalSeconds} s: {generated}");
                }

                Interlocked.Increment(ref statuses[status]);
                Assert.True(status < 500, $"case {index} (seed {seed}) got {status} {body}: {generated}");
            }
        })).ToArray();
        await Task.WhenAll(workers);

        // Mostly refusals, but the mutations leave some requests valid: both sides are exercised.
        Assert.True(statuses[400] > cases / 2, $"400s: {statuses[400]} of {cases}");
        Assert.True(statuses[200] > 0, "no mutated request was still valid");

        var input = Enumerable.Range(0, 64).Select(i => i / 64f).ToArray();
        using var valid = await client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], input)));
        var result = await Oip.ReadAsync(valid);
        Assert.Equal(OrtReference.Run(Path.Combine(RepoPaths.TestModels, "mlp", "1", "model.onnx"), ("input", [1, 64], input))["output"], result.Floats("output"));
    }

    private static int ReadSetting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}

/// <summary>One generated request: path, body, headers; printed in full (body as base64) when it fails.</summary>
internal sealed record FuzzRequest(string Path, byte[] Body, string? HeaderLength, string ContentType, bool Chunked, string Mutations)
{
    public HttpRequestMessage ToHttpRequest()
    {
        HttpContent content = Chunked ? new StreamContent(new MemoryStream(Body)) : new ByteArrayContent(Body);
        content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
        if (HeaderLength is not null)
        {
            content.Headers.TryAddWithoutValidation(Oip.HeaderLength, HeaderLength);
        }

        var request = new HttpRequestMessage(HttpMethod.Post, Path) { Content = content };
        request.Headers.TransferEncodingChunked = Chunked;
        return request;
    }

    public override string ToString() =>
        $"POST {Path} [{Mutations}] header-length={HeaderLength ?? "-"} content-type={ContentType} chunked={Chunked} body(base64)={Convert.ToBase64String(Body.AsSpan(0, Math.Min(Body.Length, 2048)))}";
}

/// <summary>Generates malformed OIP requests: valid seeds for several models, then one to three mutations.</summary>
internal static class RequestFuzzer
{
    private static readonly string[] HugeNumbers =
    [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551616", "-1", "1.5", "1e400",
        "-0", "4294967296", "2147483648", "1e-400", "0.0000001", "\"NaN\"", "\"x\"", "null", "true", "[]", "{}",
    ];

    private static readonly string[] DataTypes = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BF16", "BYTES"];

    public static FuzzRequest Generate(int seed, int index)
    {
        var random = new Random(HashCode.Combine(seed, index));
        var (path, json, binary) = Seed(random);
        var mutations = new List<string>();
        string? headerLength = null;
        var contentType = binary is null ? "application/json" : "application/octet-stream";
        var chunked = false;
        var rounds = random.Next(1, 4);
        byte[]? body = null;
        for (var round = 0; round < rounds; round++)
        {
            switch (random.Next(12))
            {
                case 0 or 1 or 2 or 3:
                    mutations.Add(MutateJson(random, json));
                    break;
                case 4:
                    mutations.Add("path");
                    path = random.Next(6) switch
                    {
                        0 => "v2/models/nope/infer",
                        1 => "v2/models/mlp/versions/abc/infer",
                        2 => "v2/models/mlp/versions/99999999999999999999/infer",
                        3 => "v2/models/" + new string('m', random.Next(1, 4000)) + "/infer",
                        4 => "v2/models/%C3%28/infer",
                        _ => "v2/models/types/infer",
                    };
                    break;
                case 5:
                    mutations.Add("header-length");
                    headerLength = random.Next(6) switch
                    {
                        0 => "-1",
                        1 => "abc",
                        2 => "99999999999",
                        3 => random.Next(0, 4096).ToString(CultureInfo.InvariantCulture),
                        4 => "0",
                        _ => "1, 2",
                    };
                    break;
                case 6:
                    mutations.Add("content-type");
                    contentType = random.Next(3) switch { 0 => "application/x-www-form-urlencoded", 1 => "text/plain; charset=latin1", _ => "multipart/form-data; boundary=x" };
                    break;
                case 7:
                    mutations.Add("chunked");
                    chunked = true;
                    break;
                default:
                    body ??= Assemble(json, binary, ref headerLength);
                    mutations.Add(MutateBytes(random, ref body));
                    break;
            }
        }

        body ??= Assemble(json, binary, ref headerLength);
        return new FuzzRequest(path, body, headerLength, contentType, chunked, string.Join(", ", mutations));
    }

    // A valid request for one of the test models, as JSON (and binary data for the binary extension).
    private static (string Path, JsonObject Json, byte[]? Binary) Seed(Random random)
    {
        switch (random.Next(5))
        {
            case 0:
            {
                var rows = random.Next(1, 4);
                return ("v2/models/mlp/infer", Request(Input("input", "FP32", [rows, 64], Numbers(random, rows * 64, "FP32"))), null);
            }

            case 1:
            {
                var rows = random.Next(1, 3);
                var data = new byte[rows * 64 * 4];
                random.NextBytes(data);
                for (var i = 3; i < data.Length; i += 4)
                {
                    data[i] &= 0x3F; // finite floats
                }

                var input = Input("input", "FP32", [rows, 64], null);
                input["parameters"] = new JsonObject { ["binary_data_size"] = data.Length };
                var request = Request(input);
                request["parameters"] = new JsonObject { ["binary_data_output"] = random.Next(2) == 0 };
                return ("v2/models/mlp/infer", request, data);
            }

            case 2:
            {
                var inputs = new JsonArray();
                foreach (var type in DataTypes)
                {
                    var name = type == "BYTES" ? "x_string" : "x_" + type.ToLowerInvariant();
                    inputs.Add(Input(name, type, [1, 3], Numbers(random, 3, type)));
                }

                return ("v2/models/types/infer", new JsonObject { ["inputs"] = inputs }, null);
            }

            case 3:
                return ("v2/models/fixed/infer", new JsonObject
                {
                    ["id"] = "r" + random.Next(),
                    ["inputs"] = new JsonArray(Input("a", "FP32", [2, 3], Numbers(random, 6, "FP32")), Input("b", "FP32", [2, 3], Numbers(random, 6, "FP32"))),
                    ["outputs"] = new JsonArray(new JsonObject { ["name"] = "sum" }),
                }, null);
            default:
            {
                var seq = random.Next(1, 5);
                var request = Request(Input("x", "FP32", [1, seq], Numbers(random, seq, "FP32")));
                request["parameters"] = new JsonObject { ["timeout"] = random.Next(30_000_000, 60_000_000), ["priority"] = 0 };
                return ("v2/models/dynamic/infer", request, null);
            }
        }
    }

    private static JsonObject Request(JsonObject input) => new() { ["inputs"] = new JsonArray(input) };

    private static JsonObject Input(string name, string type, int[] shape, JsonArray? data)
    {
        var input = new JsonObject
        {
            ["name"] = name,
            ["datatype"] = type,
            ["shape"] = new JsonArray([.. shape.Select(d => (JsonNode)d)]),
        };
        if (data is not null)
        {
            input["data"] = data;
        }

        return input;
    }

    private static JsonArray Numbers(Random random, int count, string type)
    {
        var data = new JsonArray();
        for (var i = 0; i < count; i++)
        {
            data.Add(type switch
            {
                "BOOL" => JsonValue.Create(random.Next(2) == 0),
                "BYTES" => JsonValue.Create("s" + random.Next(1000)),
                "FP16" or "FP32" or "FP64" or "BF16" => JsonValue.Create(Math.Round((random.NextDouble() * 2) - 1, 3)),
                _ => JsonValue.Create(random.Next(0, 100)),
            });
        }

        return data;
    }

    private static byte[] Assemble(JsonObject json, byte[]? binary, ref string? headerLength)
    {
        var header = Encoding.UTF8.GetBytes(json.ToJsonString());
        if (binary is null)
        {
            return header;
        }

        headerLength ??= header.Length.ToString(CultureInfo.InvariantCulture);
        return [.. header, .. binary];
    }

    // Replaces, removes or adds one node somewhere in the request.
    private static string MutateJson(Random random, JsonObject root)
    {
        var nodes = new List<JsonNode>();
        Collect(root, nodes);
        var target = nodes[random.Next(nodes.Count)];
        var parent = target.Parent;
        var kind = random.Next(8);
        JsonNode? replacement = kind switch
        {
            0 => JsonNode.Parse(HugeNumbers[random.Next(HugeNumbers.Length)]),
            1 => JsonValue.Create(new string('z', random.Next(1, 100_000))),
            2 => Nest(random.Next(1, 100)),
            3 => JsonValue.Create(DataTypes[random.Next(DataTypes.Length)]),
            4 => new JsonArray([.. Enumerable.Range(0, random.Next(0, 70)).Select(_ => (JsonNode)JsonNode.Parse(HugeNumbers[random.Next(HugeNumbers.Length)])!)]),
            5 => new JsonObject { ["binary_data_size"] = JsonNode.Parse(HugeNumbers[random.Next(HugeNumbers.Length)]) },
            6 => null,
            _ => new JsonObject(),
        };

        switch (parent)
        {
            case JsonObject obj:
                var key = obj.First(p => ReferenceEquals(p.Value, target)).Key;
                if (kind == 6 && random.Next(2) == 0)
                {
                    obj.Remove(key);
                    return $"json: removed {key}";
                }

                obj[key] = replacement;
                return $"json: {key} <- kind {kind}";
            case JsonArray array:
                var at = array.IndexOf(target);
                array[at] = replacement;
                return $"json: [{at}] <- kind {kind}";
            default:
                root["extra"] = replacement;
                return $"json: extra <- kind {kind}";
        }
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, value) in obj.ToList())
                {
                    if (value is not null)
                    {
                        Collect(value, into);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array.ToList())
                {
                    if (item is not null)
                    {
                        Collect(item, into);
                    }
                }

                break;
        }
    }

    private static JsonNode Nest(int depth)
    {
        JsonNode node = new JsonArray(1);
        for (var i = 0; i < depth; i++)
        {
            node = new JsonArray(node);
        }

        return node;
    }

    // Byte-level damage: truncation, flipped or inserted bytes (invalid UTF-8 among them), duplicated spans.
    private static string MutateBytes(Random random, ref byte[] body)
    {
        if (body.Length == 0)
        {
            body = [0xFF];
            return "bytes: one 0xFF";
        }

        var at = random.Next(body.Length);
        switch (random.Next(5))
        {
            case 0:
                body = body[..at];
                return $"bytes: truncated at {at}";
            case 1:
                body[at] = (byte)random.Next(256);
                return $"bytes: byte {at} changed";
            case 2:
                byte[] bad = random.Next(3) switch { 0 => [0xFF], 1 => [0xC3, 0x28], _ => [0xED, 0xA0, 0x80] };
                body = [.. body[..at], .. bad, .. body[at..]];
                return $"bytes: invalid UTF-8 at {at}";
            case 3:
                var length = random.Next(1, Math.Min(body.Length - at, 64) + 1);
                body = [.. body[..(at + length)], .. body.AsSpan(at, length), .. body[(at + length)..]];
                return $"bytes: {length} bytes at {at} doubled";
            default:
                body = [.. body[..at], (byte)random.Next(256), .. body[at..]];
                return $"bytes: byte inserted at {at}";
        }
    }
}
