// The HTTP ceiling for the mlp infer benchmark (benchmarks/http/run.sh): a minimal Kestrel app that
// reads the whole request body, as ServingGateway does, and answers with a response recorded from
// the real server (status, headers and exact body bytes), so the difference is the inference work.
//
//   HttpCeiling --urls http://127.0.0.1:18001
//       --json-body FILE --json-headers FILE --binary-body FILE --binary-headers FILE
//
// The headers files are `curl -D` dumps. A request with an Inference-Header-Content-Length header
// gets the binary response, any other gets the JSON one.
using Microsoft.Extensions.Primitives;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);

var json = RecordedResponse.Load(builder.Configuration, "json");
var binary = RecordedResponse.Load(builder.Configuration, "binary");

var app = builder.Build();
app.MapGet("/v2/health/ready", () => Results.Ok());
app.MapPost("/v2/models/mlp/infer", async context =>
{
    var reader = context.Request.BodyReader;
    while (true)
    {
        var read = await reader.ReadAsync(context.RequestAborted);
        reader.AdvanceTo(read.Buffer.End);
        if (read.IsCompleted)
        {
            break;
        }
    }

    var recorded = context.Request.Headers.ContainsKey(RecordedResponse.HeaderLength) ? binary : json;
    await recorded.WriteAsync(context.Response, context.RequestAborted);
});

Console.WriteLine($"HttpCeiling: JSON {json.Body.Length} B, binary {binary.Body.Length} B");
app.Run();

/// <summary>A response recorded from ServingGateway: status, the headers that matter, body bytes.</summary>
internal sealed record RecordedResponse(int Status, string ContentType, KeyValuePair<string, string>[] Headers, byte[] Body)
{
    public const string HeaderLength = "Inference-Header-Content-Length";

    private static readonly string[] Kept = [HeaderLength];

    /// <summary>Loads --{name}-body and --{name}-headers (a curl -D dump) from the configuration.</summary>
    public static RecordedResponse Load(IConfiguration configuration, string name)
    {
        var bodyPath = configuration[$"{name}-body"] ?? throw new ArgumentException($"--{name}-body FILE is required");
        var headersPath = configuration[$"{name}-headers"] ?? throw new ArgumentException($"--{name}-headers FILE is required");
        var lines = File.ReadAllLines(headersPath).Where(l => l.Length > 0).ToArray();

        // "HTTP/1.1 200 OK": the last status line, should curl have printed a 100 Continue first.
        var statusLine = lines.Last(l => l.StartsWith("HTTP/", StringComparison.Ordinal));
        var status = int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .Select(p => KeyValuePair.Create(p[0].Trim(), p[1].Trim()))
            .ToArray();
        var contentType = headers.FirstOrDefault(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Value
            ?? "application/json";
        // The binary header and every X- header the server sends (model version and digest, cache, node).
        var kept = headers.Where(h => Kept.Contains(h.Key, StringComparer.OrdinalIgnoreCase) || h.Key.StartsWith("X-", StringComparison.OrdinalIgnoreCase)).ToArray();
        return new RecordedResponse(status, contentType, kept, File.ReadAllBytes(bodyPath));
    }

    /// <summary>Writes the recorded status, headers and body.</summary>
    public async Task WriteAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = Status;
        response.ContentType = ContentType;
        response.ContentLength = Body.Length;
        foreach (var (key, value) in Headers)
        {
            response.Headers[key] = new StringValues(value);
        }

        await response.BodyWriter.WriteAsync(Body, cancellationToken);
    }
}
