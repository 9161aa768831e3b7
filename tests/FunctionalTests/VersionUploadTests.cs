using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ServingGateway.Auth;
using ServingGateway.Deployments;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Version uploads and the model listing over real HTTP (issue 13 item 1): PUT /admin/models/{m}/versions/{v}
/// stores atomically and idempotently, refuses what ONNX Runtime cannot load or what breaks the serving
/// signature with nothing left behind, and GET /admin/models lists what is on disk.
/// </summary>
public sealed class VersionUploadTests : IDisposable
{
    private const string InferKey = "versions-infer";
    private const string DeployKey = "versions-deploy";
    private readonly TempModelRepository _models = new("mlp", "versioned");
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"sg-versions-{Guid.NewGuid():N}.json");

    public VersionUploadTests()
    {
        File.WriteAllText(_config, $$"""
            {
              "Auth": {
                "Keys": [
                  {"Name": "infer", "Sha256": "{{ApiKeyMiddleware.Hash(InferKey)}}", "Roles": ["infer"]},
                  {"Name": "deployer", "Sha256": "{{ApiKeyMiddleware.Hash(DeployKey)}}", "Roles": ["deploy"]}
                ]
              }
            }
            """);
    }

    public void Dispose()
    {
        File.Delete(_config);
        _models.Dispose();
    }

    private static byte[] TestModel(string model, int version = 1) =>
        File.ReadAllBytes(Path.Combine(RepoPaths.TestModels, model, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx"));

    private static async Task<HttpResponseMessage> PutAsync(GatewayServer server, string path, HttpContent content, string key = DeployKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await server.Client.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> GetAsync(GatewayServer server, string path, string key = DeployKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await server.Client.SendAsync(request);
    }

    private static ByteArrayContent Bytes(byte[] bytes, string contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    private static byte[] Zip(params (string Name, byte[] Bytes)[] entries)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in entries)
            {
                using var entry = zip.CreateEntry(name).Open();
                entry.Write(bytes);
            }
        }

        return stream.ToArray();
    }

    private static byte[] Tar(params (string Name, byte[] Bytes)[] entries)
    {
        using var stream = new MemoryStream();
        using (var tar = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, bytes) in entries)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(bytes) });
            }
        }

        return stream.ToArray();
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    // Everything in a model folder, relative, sorted: what an upload left there.
    private string[] Listing(string model) =>
        [.. Directory.GetFileSystemEntries(Path.Combine(_models.Path, model), "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(Path.Combine(_models.Path, model), p)).Order(StringComparer.Ordinal)];

    private Task<GatewayServer> StartAsync(params string[] extra) => GatewayServer.StartAsync(_models.Path, ["--config", _config, .. extra]);

    [Fact]
    public async Task Put_NewVersion_201WithTheRepositorysDigest_SameBytes200_OtherBytes409AndFileUnchanged()
    {
        await using var server = await StartAsync();
        var bytes = TestModel("versioned", 2);

        using var created = await PutAsync(server, "admin/models/versioned/versions/4", Bytes(bytes));
        var createdBody = await created.Content.ReadAsStringAsync();
        using var again = await PutAsync(server, "admin/models/versioned/versions/4", Bytes(bytes));
        using var other = await PutAsync(server, "admin/models/versioned/versions/4", Bytes(TestModel("versioned", 3)));

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = JsonDocument.Parse(createdBody).RootElement;
        Assert.Equal("versioned", body.GetProperty("model").GetString());
        Assert.Equal("4", body.GetProperty("version").GetString());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(createdBody, await again.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Contains("stored already with other bytes", await Oip.ReadErrorAsync(other), StringComparison.Ordinal);
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(_models.Path, "versioned", "4", "model.onnx")));
        Assert.Equal(["1", "1/model.onnx", "2", "2/model.onnx", "3", "3/model.onnx", "4", "4/model.onnx", "config.json", "notaversion", "notaversion/README.txt"], Listing("versioned"));

        // Stored, not loaded: the repository computes the same digest once a load picks the version up.
        Assert.DoesNotContain(server.Repository.GetCataloged("versioned")!, s => s.Version == 4);
        using var load = await server.Client.PostAsync("v2/repository/models/versioned/load", null);
        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        Assert.Equal(body.GetProperty("digest").GetString(), Array.Find(server.Repository.GetCataloged("versioned")!, s => s.Version == 4)!.Digest);
    }

    [Fact]
    public async Task Put_CorruptFile_400WithOnnxRuntimesReason_NothingLeft()
    {
        await using var server = await StartAsync();
        var before = Listing("mlp");

        using var response = await PutAsync(server, "admin/models/mlp/versions/2", Bytes(TestModel("broken")));
        using var newModel = await PutAsync(server, "admin/models/brand-new/versions/1", Bytes(TestModel("broken")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("ONNX Runtime cannot load the version", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
        Assert.Equal(before, Listing("mlp"));
        Assert.Equal(HttpStatusCode.BadRequest, newModel.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_models.Path, "brand-new")));
    }

    [Fact]
    public async Task Put_IncompatibleSignature_400WithTheDifference_NothingLeft()
    {
        await using var server = await StartAsync();
        var before = Listing("mlp");

        using var response = await PutAsync(server, "admin/models/mlp/versions/2", Bytes(TestModel("dynamic")));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await Oip.ReadErrorAsync(response);
        Assert.Contains("not compatible with serving version 1", error, StringComparison.Ordinal);
        Assert.Contains("input 'input' is missing", error, StringComparison.Ordinal);
        Assert.Contains("output 'output' is missing", error, StringComparison.Ordinal);
        Assert.Equal(before, Listing("mlp"));
    }

    [Fact]
    public async Task Put_ZipWithParentPath_400_NothingLeft()
    {
        await using var server = await StartAsync();
        var before = Listing("mlp");

        using var response = await PutAsync(server, "admin/models/mlp/versions/2",
            Bytes(Zip(("model.onnx", TestModel("mlp")), ("../escaped.onnx", TestModel("mlp"))), "application/zip"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("leaves the version folder", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
        Assert.Equal(before, Listing("mlp"));
        Assert.False(File.Exists(Path.Combine(_models.Path, "mlp", "escaped.onnx")));
        Assert.False(File.Exists(Path.Combine(_models.Path, "escaped.onnx")));
    }

    [Fact]
    public async Task Put_PastMaxUploadMb_413WithOrWithoutLength_NothingLeft()
    {
        await using var server = await StartAsync("--Deployments:MaxUploadMb", "1");
        var before = Listing("mlp");
        var large = new byte[(1 << 20) + 1];

        using var withLength = await PutAsync(server, "admin/models/mlp/versions/2", Bytes(large));
        var chunked = new StreamContent(new UnknownLengthStream(large));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var withoutLength = await PutAsync(server, "admin/models/mlp/versions/3", chunked);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withLength.StatusCode);
        Assert.Contains("Deployments:MaxUploadMb", await Oip.ReadErrorAsync(withLength), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withoutLength.StatusCode);
        Assert.Equal(before, Listing("mlp"));
    }

    [Fact]
    public async Task PutAndGet_InferKey_403_DeployKeyListsTheUploadAndItsAuditLine()
    {
        await using var server = await StartAsync();

        using var inferPut = await PutAsync(server, "admin/models/versioned/versions/4", Bytes(TestModel("versioned", 2)), InferKey);
        using var inferGet = await GetAsync(server, "admin/models", InferKey);
        var storedByInferKey = Directory.Exists(Path.Combine(_models.Path, "versioned", "4"));
        using var put = await PutAsync(server, "admin/models/versioned/versions/4", Bytes(TestModel("versioned", 2)));
        var digest = (await JsonAsync(put)).GetProperty("digest").GetString();
        server.Services<ITrafficSplits>().Set("mlp", new TrafficSplit([new VersionShare(1, 100)], new ShadowMirror(2, 0.25)));
        using var list = await GetAsync(server, "admin/models");

        Assert.Equal(HttpStatusCode.Forbidden, inferPut.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, inferGet.StatusCode);
        Assert.False(storedByInferKey);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var models = (await JsonAsync(list)).GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Equal(["mlp", "versioned"], models.Keys.Order(StringComparer.Ordinal));
        var versions = models["versioned"].GetProperty("versions").EnumerateArray().ToList();
        Assert.Equal(["1", "2", "3", "4"], versions.Select(v => v.GetProperty("version").GetString()));
        Assert.Equal(["READY", "READY", "READY", "NOT_LOADED"], versions.Select(v => v.GetProperty("state").GetString()));
        Assert.Equal(digest, versions[3].GetProperty("digest").GetString());
        Assert.Equal(Array.Find(server.Repository.GetCataloged("versioned")!, s => s.Version == 2)!.Digest, versions[1].GetProperty("digest").GetString());
        Assert.Equal(JsonValueKind.Null, models["versioned"].GetProperty("traffic_split").ValueKind);
        Assert.Equal("""{"shares":[{"version":"1","percent":100}],"shadow":{"version":"2","sample_ratio":0.25}}""", models["mlp"].GetProperty("traffic_split").GetRawText());
        Assert.Equal(JsonValueKind.Null, models["versioned"].GetProperty("rollout").ValueKind);

        var lines = File.ReadAllLines(server.AuditPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var upload = Assert.Single(lines, l => l.GetProperty("method").GetString() == "PUT" && l.GetProperty("status").GetInt32() == 201);
        Assert.Equal("deployer", upload.GetProperty("caller").GetString());
        Assert.Equal("versioned", upload.GetProperty("model").GetString());
        var details = upload.GetProperty("details");
        Assert.Equal("4", details.GetProperty("version").GetString());
        Assert.Equal(digest, details.GetProperty("digest").GetString());
        Assert.Equal(TestModel("versioned", 2).Length, details.GetProperty("bytes").GetInt64());
        Assert.Equal("created", details.GetProperty("result").GetString());
        Assert.Contains(lines, l => l.GetProperty("method").GetString() == "PUT" && l.GetProperty("status").GetInt32() == 403);
        Assert.Contains(lines, l => l.GetProperty("route").GetString() == "/admin/models" && l.GetProperty("status").GetInt32() == 200);
    }

    [Fact]
    public async Task Put_ZipForNewModelWithConfig_ConfigBecomesTheModels_TarOfVersionFolderUnwrapped()
    {
        await using var server = await StartAsync();
        var config = """{"max_batch_size": 8}"""u8.ToArray();

        using var zip = await PutAsync(server, "admin/models/fresh/versions/1",
            Bytes(Zip(("model.onnx", TestModel("versioned", 1)), ("config.json", config), ("notes/README.txt", "hello"u8.ToArray())), "application/zip"));
        using var tar = await PutAsync(server, "admin/models/fresh/versions/2",
            Bytes(Tar(("2/model.onnx", TestModel("versioned", 2)), ("2/config.json", config)), "application/x-tar"));
        using var differentConfig = await PutAsync(server, "admin/models/fresh/versions/3",
            Bytes(Zip(("model.onnx", TestModel("versioned", 3)), ("config.json", """{"max_batch_size": 4}"""u8.ToArray())), "application/zip"));
        using var load = await server.Client.PostAsync("v2/repository/models/fresh/load", null);

        Assert.Equal(HttpStatusCode.Created, zip.StatusCode);
        Assert.Equal(HttpStatusCode.Created, tar.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, differentConfig.StatusCode);
        Assert.Contains("config.json is not the model's", await Oip.ReadErrorAsync(differentConfig), StringComparison.Ordinal);
        Assert.Equal(["1", "1/model.onnx", "1/notes", "1/notes/README.txt", "2", "2/model.onnx", "config.json"], Listing("fresh"));
        Assert.Equal(config, File.ReadAllBytes(Path.Combine(_models.Path, "fresh", "config.json")));
        Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        Assert.Equal(8, server.Repository.GetReady("fresh")![0].Signature.MaxBatchSize);
    }

    [Theory]
    [InlineData("admin/models/mlp/versions/01", "application/octet-stream", HttpStatusCode.BadRequest, "is not a version")]
    [InlineData("admin/models/mlp/versions/0", "application/octet-stream", HttpStatusCode.BadRequest, "is not a version")]
    [InlineData("admin/models/mlp/versions/-2", "application/octet-stream", HttpStatusCode.BadRequest, "is not a version")]
    [InlineData("admin/models/.hidden/versions/2", "application/octet-stream", HttpStatusCode.BadRequest, "is not a model name")]
    [InlineData("admin/models/mlp/versions/2", "application/json", HttpStatusCode.UnsupportedMediaType, "Content-Type must be")]
    public async Task Put_BadNameVersionOrType_4xxWithReason_NothingLeft(string path, string contentType, HttpStatusCode expected, string reason)
    {
        await using var server = await StartAsync();
        var before = Listing("mlp");

        using var response = await PutAsync(server, path, Bytes(TestModel("mlp"), contentType));

        Assert.Equal(expected, response.StatusCode);
        Assert.Contains(reason, await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
        Assert.Equal(before, Listing("mlp"));
        Assert.Equal(["mlp", "versioned"], Directory.GetDirectories(_models.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>A readable stream that does not know its length: HttpClient sends it chunked.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
