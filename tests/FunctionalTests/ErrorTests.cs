using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>Every class of bad request gets its 4xx with {"error": "..."}, and the server keeps serving.</summary>
public sealed class ErrorTests : IAsyncLifetime
{
    private static readonly string Zeros = string.Join(",", Enumerable.Repeat("0", 64));
    private GatewayServer _server = null!;

    private HttpClient Client => _server.Client;

    public async Task InitializeAsync() =>
        _server = await GatewayServer.StartAsync(RepoPaths.TestModels, "--Inference:MaxRequestBodyBytes", "1048576");

    public async Task DisposeAsync()
    {
        // After everything the tests threw at it, the server still answers correctly.
        var input = new float[64];
        using var response = await Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], input)));
        var result = await Oip.ReadAsync(response);
        Assert.Equal(OrtReference.Run(Path.Combine(RepoPaths.TestModels, "mlp", "1", "model.onnx"), ("input", [1, 64], input))["output"], result.Floats("output"));
        await _server.DisposeAsync();
    }

    private async Task<string> ExpectAsync(HttpStatusCode status, HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            return await Oip.ReadErrorAsync(response);
        }
    }

    public static TheoryData<string, string> BadBodies => new()
    {
        { "", "body is empty" },
        { "{\"inputs\": [", "malformed JSON" },
        { "not json at all", "malformed JSON" },
        { "{}", "no \"inputs\"" },
        { "{\"inputs\":[]}", "missing input 'input'" },
        { $$"""{"inputs":[{"name":"wrong","shape":[1,64],"datatype":"FP32","data":[{{Zeros}}]}]}""", "unknown input 'wrong'" },
        { $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Zeros}}]}],"outputs":[{"name":"wrong"}]}""", "unknown output 'wrong'" },
        { $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"INT32","data":[{{Zeros}}]}]}""", "is INT32 but the model expects FP32" },
        { $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FLOAT","data":[{{Zeros}}]}]}""", "unknown datatype \"FLOAT\"" },
        { """{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[1,2,3]}]}""", "its data holds at most" },
        { $$"""{"inputs":[{"name":"input","shape":[2,64],"datatype":"FP32","data":[{{Zeros}},{{Zeros}},0]}]}""", "its data holds more" },
        { $$"""{"inputs":[{"name":"input","shape":[-1,64],"datatype":"FP32","data":[{{Zeros}}]}]}""", "cannot be negative" },
        { $$"""{"inputs":[{"name":"input","shape":[9223372036854775807,64],"datatype":"FP32","data":[{{Zeros}}]}]}""", "has batch size 9223372036854775807" },
        { """{"inputs":[{"name":"input","shape":[1000000000,64],"datatype":"FP32","data":[1,2,3]}]}""", "has batch size 1000000000" },
        { $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":["NaN",{{Zeros[2..]}}]}]}""", "the string \"NaN\"" },
        { $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":["Infinity",{{Zeros[2..]}}]}]}""", "the string \"Infinity\"" },
        { $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[[{{Zeros}}],[0]]}]}""", "nesting level 1" },
        { $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[[[{{Zeros}}]]]}]}""", "nested deeper than its rank" },
        { """{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":""" + new string('[', 200) + new string(']', 200) + "}]}", "malformed JSON" },
        { $$"""{"inputs":[{"name":"input","shape":[65,64],"datatype":"FP32","data":[{{Zeros}}]}]}""", "max_batch_size" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task Infer_BadRequest_Is400WithJsonError(string body, string expected)
    {
        var error = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/models/mlp/infer", Oip.Json(body)));

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1,100000000]", "(100000000 elements) but its data holds at most 7")]
    [InlineData("[1,1000000000]", "larger than any request can carry")]
    [InlineData("[1,9223372036854775807]", "larger than any request can carry")]
    [InlineData("[16,4611686018427387904]", "larger than any request can carry")]
    public async Task Infer_HugeDeclaredShape_IsRefusedBeforeAllocation(string shape, string expected)
    {
        var body = $$"""{"inputs":[{"name":"x","shape":{{shape}},"datatype":"FP32","data":[1,2,3]}]}""";

        var error = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/models/dynamic/infer", Oip.Json(body)));

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_FormContentTypeWithBadBody_Is400NotFormError()
    {
        var content = new StringContent("a=1&b=2", Encoding.UTF8, "application/x-www-form-urlencoded");

        var error = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/models/mlp/infer", content));

        Assert.Contains("malformed JSON", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("99999999999")]
    public async Task Infer_BadBinaryHeaderLength_Is400(string value)
    {
        var content = Oip.Json("{}");
        content.Headers.Add(Oip.HeaderLength, value);

        var error = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/models/mlp/infer", content));

        Assert.Contains("Inference-Header-Content-Length", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BinarySizeMismatch_Is400()
    {
        var header = """{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"binary_data_size":256}}]}""";

        var error = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/models/mlp/infer", Oip.Binary(header, new byte[200])));

        Assert.Contains("add up to 256 bytes but 200", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v2/models/nope/infer", "unknown model 'nope'")]
    [InlineData("v2/models/mlp/versions/2/infer", "has no version 2")]
    [InlineData("v2/models/broken/infer", "no ready version")]
    public async Task Infer_UnknownModelOrVersion_Is404(string path, string expected)
    {
        var error = await ExpectAsync(HttpStatusCode.NotFound, await Client.PostAsync(path, Oip.Json("{}")));

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "v2/models/mlp/infer")]
    [InlineData("PUT", "v2/models/mlp/infer")]
    [InlineData("POST", "v2/health/live")]
    [InlineData("DELETE", "v2/models/mlp")]
    [InlineData("GET", "v2/repository/index")]
    public async Task WrongMethod_Is405WithJsonErrorAndAllow(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.NotEmpty(response.Content.Headers.Allow);
        Assert.Contains("not allowed", await Oip.ReadErrorAsync(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownPath_Is404WithJsonError()
    {
        var error = await ExpectAsync(HttpStatusCode.NotFound, await Client.GetAsync("v3/whatever"));

        Assert.Contains("no endpoint", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_BodyOverLimitWithContentLength_Is413()
    {
        // A client that announces its body and waits for 100 Continue (curl does for large bodies) gets
        // the 413 before sending it; the server does not read a body it has refused.
        using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = new ByteArrayContent(new byte[(1024 * 1024) + 1]) };
        request.Headers.ExpectContinue = true;

        var error = await ExpectAsync(HttpStatusCode.RequestEntityTooLarge, await Client.SendAsync(request));

        Assert.Contains("exceeds the limit of 1048576 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Infer_ChunkedBodyOverLimit_Is413()
    {
        var content = new StreamContent(new MemoryStream(new byte[(1024 * 1024 * 3 / 2) + 5]));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        await Oip.ReadErrorAsync(response);
    }

    [Fact]
    public async Task Repository_LoadUnknownModel_Is404_MalformedBody_Is400()
    {
        var missing = await ExpectAsync(HttpStatusCode.NotFound, await Client.PostAsync("v2/repository/models/nope/load", null));
        var traversal = await ExpectAsync(HttpStatusCode.NotFound, await Client.PostAsync("v2/repository/models/..%2F..%2Fetc/load", null));
        var malformed = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/repository/index", Oip.Json("{\"ready\":")));
        var badType = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/repository/index", Oip.Json("{\"ready\":1}")));
        var unloadUnknown = await ExpectAsync(HttpStatusCode.NotFound, await Client.PostAsync("v2/repository/models/nope/unload", null));

        Assert.Contains("unknown model 'nope'", missing, StringComparison.Ordinal);
        Assert.Contains("unknown model", traversal, StringComparison.Ordinal);
        Assert.Contains("malformed JSON", malformed, StringComparison.Ordinal);
        Assert.Contains("true or false", badType, StringComparison.Ordinal);
        Assert.Contains("unknown model 'nope'", unloadUnknown, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> InvalidUtf8Bodies => new()
    {
        // \xHH stands for the byte HH: \xC3\x28, \xFF and a surrogate (\xED\xA0\x80) are not UTF-8; each sits inside a different JSON string.
        { "v2/models/mlp/infer", $$"""{"id":"\xC3\x28","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Zeros}}]}]}""" },
        { "v2/models/mlp/infer", $$"""{"inputs":[{"name":"inp\xFFut","shape":[1,64],"datatype":"FP32","data":[{{Zeros}}]}]}""" },
        { "v2/models/mlp/infer", $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP\xFF32","data":[{{Zeros}}]}]}""" },
        { "v2/models/mlp/infer", $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Zeros}}]}],"outputs":[{"name":"\xED\xA0\x80"}]}""" },
        { "v2/models/mlp/infer", $$"""{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","parameters":{"k\xFF":1},"data":[{{Zeros}}]}]}""" },
        { "v2/models/types/infer", """{"inputs":[{"name":"x_string","shape":[1,3],"datatype":"BYTES","data":["a","\xC3\x28","c"]}],"outputs":[{"name":"y_string"}]}""" },
        { "v2/repository/index", """{"re\xFFady":true}""" },
        { "v2/repository/models/mlp/load", """{"parameters":{"c\xFF":1}}""" },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8Bodies))]
    public async Task Post_InvalidUtf8InAJsonString_Is400(string path, string body)
    {
        var bytes = Encoding.Latin1.GetBytes(Regex.Replace(body, @"\\x([0-9A-F]{2})", m => ((char)Convert.ToByte(m.Groups[1].Value, 16)).ToString()));
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var error = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync(path, content));

        Assert.Contains("not valid UTF-8", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("timeout", "9223372036854775807")]
    [InlineData("timeout", "-1")]
    [InlineData("timeout", "1.5")]
    [InlineData("timeout", "\"x\"")]
    [InlineData("timeout", "1e30")]
    [InlineData("priority", "9223372036854775807")]
    [InlineData("priority", "-1")]
    [InlineData("priority", "1.5")]
    [InlineData("priority", "\"x\"")]
    public async Task Infer_BadTimeoutOrPriority_Is400NamingTheParameter(string parameter, string value)
    {
        var body = $$"""{"parameters":{"{{parameter}}":{{value}}},"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[{{Zeros}}]}]}""";

        var error = await ExpectAsync(HttpStatusCode.BadRequest, await Client.PostAsync("v2/models/mlp/infer", Oip.Json(body)));

        Assert.Contains(parameter, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedHttp_GetsA4xxAndTheServerSurvives()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_server.BaseAddress.Host, _server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"u8.ToArray());
        var buffer = new byte[1024];
        var read = await stream.ReadAsync(buffer);

        var text = Encoding.ASCII.GetString(buffer, 0, read);
        Assert.StartsWith("HTTP/1.1 400", text, StringComparison.Ordinal);
    }
}
