using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// Tracing (issue 15 item 1) across two processes: an edge and a node, each exporting OTLP/HTTP to a collector stand-in,
/// both sampling new traces at 0, so only a caller's sampled traceparent is recorded (parent-based) and the node records
/// the request only if the edge propagated that trace to it.
/// </summary>
public sealed class TracingTests
{
    private static readonly string MlpRequest = Oip.JsonRequest("input", [1, 64], new float[64]);

    [Fact]
    public async Task Infer_ClientTraceparentThroughAnEdge_BothProcessesExportTheTraceAndTheBatchRunLinksTheRequest()
    {
        await using var collector = await OtlpCollector.StartAsync();
        using var models = new TempModelRepository("mlp");
        string[] telemetry = ["--Telemetry:OtlpEndpoint", collector.Url, "--Telemetry:SampleRatio", "0"];
        // Two nodes: with one, YARP forwards without asking the load balancer, and there is no route decision to trace.
        await using var node1 = await NodeProcess.StartNodeAsync(models.Path, "traced-node-1", telemetry);
        await using var node2 = await NodeProcess.StartNodeAsync(models.Path, "traced-node-2", telemetry);
        await using var edge = await NodeProcess.StartAsync(["--role", "edge", "--Auth:AllowAnonymous", "true", "--node", node1.Url, "--node", node2.Url, .. telemetry]);

        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var clientSpan = ActivitySpanId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = Oip.Json(MlpRequest) };
        request.Headers.Add("traceparent", $"00-{traceId}-{clientSpan}-01");
        using var response = await edge.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(traceId, response.Headers.GetValues("X-Trace-Id").Single());

        // Not sampled by its caller, and new traces at 0: not recorded, so no trace to name.
        using var unsampled = await edge.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
        Assert.Equal(HttpStatusCode.OK, unsampled.StatusCode);
        Assert.False(unsampled.Headers.Contains("X-Trace-Id"));

        // The exporters send in batches (every 5 s by default).
        IReadOnlyList<OtlpCollector.Span> trace = [];
        await Poll.UntilAsync(
            () =>
            {
                trace = [.. collector.Spans.Where(s => s.TraceId == traceId)];
                return Task.FromResult(Complete(trace));
            },
            () => $"the trace's spans (the client's span {clientSpan}): {string.Join("; ", trace.Select(s => $"{s.Service}/{s.Scope}/{s.Name} {s.SpanId}<-{s.Parent}"))}");

        var edgeSpans = trace.Where(s => s.Service == "servinggateway-edge").ToList();
        var nodeSpans = trace.Where(s => s.Service == "servinggateway-node").ToList();

        // The edge continued the caller's trace, and the node continued the edge's: one tree from the caller down.
        Assert.Contains(edgeSpans, s => s.Parent == clientSpan);
        var nodeServer = nodeSpans.Single(s => s.Scope == "ServingGateway.Requests");
        Assert.Contains(edgeSpans, s => s.SpanId == nodeServer.Parent);
        // The node's request span is its infer span: named by the route, tagged with the model and the version served.
        Assert.Equal("POST /v2/models/{model}/infer", nodeServer.Name);
        Assert.Equal("mlp", nodeServer.Attributes["model"]);
        Assert.Equal("1", nodeServer.Attributes["model.version"]);
        Assert.Equal("/v2/models/{model}/infer", nodeServer.Attributes["http.route"]);
        Assert.Equal(nodeServer.SpanId, nodeSpans.Single(s => s.Name == "queue wait").Parent);
        Assert.Equal(nodeServer.SpanId, nodeSpans.Single(s => s.Name == "encode").Parent);
        Assert.Contains((traceId, nodeServer.SpanId), nodeSpans.Single(s => s.Name == "batch run").Links);

        Assert.DoesNotContain(collector.Spans, s => s.Scope.StartsWith("ServingGateway", StringComparison.Ordinal) && s.TraceId != traceId);
    }

    [Fact]
    public async Task TraceSetting_ChangedByAnAdmin_SamplesNewTracesAndIsRefusedWithoutAnExporter()
    {
        await using var collector = await OtlpCollector.StartAsync();
        using var models = new TempModelRepository("mlp");
        // A process of its own: in this one, the server's listener would also trace the test's HttpClient, whose call
        // (not a request's span, so never recorded) would send the server an unsampled traceparent.
        await using var traced = await NodeProcess.StartAsync(["--models", models.Path, "--Telemetry:OtlpEndpoint", collector.Url, "--Telemetry:SampleRatio", "0"]);

        using var before = await traced.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
        Assert.False(before.Headers.Contains("X-Trace-Id"));

        // Triton's form: numbers as strings, one new trace in trace_rate.
        using var changed = await traced.Client.PostAsync("v2/trace/setting", Oip.Json("""{"trace_level": ["TIMESTAMPS"], "trace_rate": "1"}"""));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        using (var settings = JsonDocument.Parse(await changed.Content.ReadAsStringAsync()))
        {
            Assert.Equal("1", settings.RootElement.GetProperty("trace_rate").GetString());
            Assert.Equal(1.0, settings.RootElement.GetProperty("sample_ratio").GetDouble());
            Assert.Equal("otlp", settings.RootElement.GetProperty("exporter").GetString());
        }

        using var after = await traced.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
        var afterTrace = after.Headers.GetValues("X-Trace-Id").Single();
        Assert.Matches("^[0-9a-f]{32}$", afterTrace);

        // Probes and scrapes are never recorded, even when every new trace is.
        foreach (var scrape in (string[])["v2/health/ready", "metrics", "status"])
        {
            using var scraped = await traced.Client.GetAsync(scrape);
            Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
            Assert.False(scraped.Headers.Contains("X-Trace-Id"), scrape);
        }

        using var last = await traced.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
        var lastTrace = last.Headers.GetValues("X-Trace-Id").Single();
        await Poll.UntilAsync(
            () => Task.FromResult(collector.Spans.Any(s => s.TraceId == lastTrace && s.Scope == "ServingGateway.Requests")),
            () => $"the last request's span (trace {lastTrace}); received: {string.Join("; ", collector.Spans.Select(s => $"{s.Scope}/{s.Name}"))}");
        // Every request span that went out was named and tagged when its response started (a scrape's would have gone
        // out unnamed had it been recorded), and none is a probe's or a scrape's. Other requests may be here: this
        // server's port may have been another test's node a moment ago, whose edge still calls it.
        var requestSpans = collector.Spans.Where(s => s.Scope == "ServingGateway.Requests").ToList();
        Assert.All(requestSpans, s => Assert.True(s.Attributes.ContainsKey("url.path"), $"'{s.Name}' went out without url.path"));
        Assert.DoesNotContain(requestSpans, s => s.Attributes["url.path"] is "/v2/health/ready" or "/metrics" or "/status");
        Assert.Equal("POST /v2/models/{model}/infer", requestSpans.Single(s => s.TraceId == afterTrace).Name);
        Assert.Equal("POST /v2/models/{model}/infer", requestSpans.Single(s => s.TraceId == lastTrace).Name);

        using var off = await traced.Client.PostAsync("v2/trace/setting", Oip.Json("""{"trace_level": ["OFF"]}"""));
        Assert.Equal(HttpStatusCode.OK, off.StatusCode);
        using var offRequest = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = Oip.Json(MlpRequest) };
        offRequest.Headers.Add("traceparent", $"00-{ActivityTraceId.CreateRandom().ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var offResponse = await traced.Client.SendAsync(offRequest);
        Assert.False(offResponse.Headers.Contains("X-Trace-Id")); // off means off, even for a caller's sampled trace

        foreach (var bad in (string[])["""{"trace_rate": "0"}""", """{"trace_level": ["TENSORS"]}""", """{"trace_file": "/tmp/t.json"}""", """{"rate": 1}""", "[1]", "{"])
        {
            using var refused = await traced.Client.PostAsync("v2/trace/setting", Oip.Json(bad));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("\"error\"", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await using var untraced = await GatewayServer.StartAsync(models.Path);
        using var noExporter = await untraced.Client.PostAsync("v2/trace/setting", Oip.Json("""{"trace_level": ["TIMESTAMPS"]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, noExporter.StatusCode);
        Assert.Contains("no exporter", await noExporter.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var shown = JsonDocument.Parse(await untraced.Client.GetStringAsync("v2/trace/setting"));
        Assert.Equal("OFF", shown.RootElement.GetProperty("trace_level")[0].GetString());
        Assert.Equal("none", shown.RootElement.GetProperty("exporter").GetString());
    }

    [Fact]
    public async Task Off_NoSpanStartedForARequest_MetricsCarryNoTraceExemplars()
    {
        // Tracing off: nothing starts an Activity for a request. ASP.NET Core's hosting starts one (and a log scope) for
        // as long as its log category is on at any level, which the defaults turn off (docs/CONFIGURATION.md, "Logging");
        // the histograms would then take that never-exported trace's id as an exemplar. A process of its own: an
        // in-process server would see the listeners of other tests' traced servers.
        using var models = new TempModelRepository("mlp");
        await using var server = await NodeProcess.StartAsync(["--models", models.Path]);
        using (var infer = await server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest)))
        {
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        }

        var text = await ScrapeOpenMetricsAsync(server.Client);

        Assert.Contains("sg_inference_request_duration_seconds_bucket{", text, StringComparison.Ordinal);
        Assert.DoesNotContain("trace_id", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exemplars_TracingOnButTheRequestNotSampled_NoneTaken_ThenOneFromARecordedRequest()
    {
        // With an exporter set, an exemplar from a request that is not recorded would name a trace that is never exported
        // (prometheus-net takes one from any current activity). A process of its own, as above: other tests' listeners
        // would record it.
        await using var collector = await OtlpCollector.StartAsync();
        using var models = new TempModelRepository("mlp");
        await using var server = await NodeProcess.StartAsync(["--models", models.Path, "--Telemetry:OtlpEndpoint", collector.Url, "--Telemetry:SampleRatio", "0"]);
        using (var unsampled = await server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest)))
        {
            Assert.Equal(HttpStatusCode.OK, unsampled.StatusCode);
            Assert.False(unsampled.Headers.Contains("X-Trace-Id"));
        }

        Assert.DoesNotContain("trace_id", await ScrapeOpenMetricsAsync(server.Client), StringComparison.Ordinal);

        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        using var sampled = new HttpRequestMessage(HttpMethod.Post, "v2/models/mlp/infer") { Content = Oip.Json(MlpRequest) };
        sampled.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using (var recorded = await server.Client.SendAsync(sampled))
        {
            Assert.Equal(traceId, recorded.Headers.GetValues("X-Trace-Id").Single());
        }

        var text = await ScrapeOpenMetricsAsync(server.Client);
        Assert.Contains($"trace_id=\"{traceId}\"", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n'), line => line.Contains("trace_id=", StringComparison.Ordinal) && line.StartsWith("sg_inference_request_duration_seconds_bucket{", StringComparison.Ordinal));
    }

    private static async Task<string> ScrapeOpenMetricsAsync(HttpClient client)
    {
        using var scrape = new HttpRequestMessage(HttpMethod.Get, "metrics");
        scrape.Headers.Accept.ParseAdd("application/openmetrics-text");
        using var scraped = await client.SendAsync(scrape);
        return await scraped.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Logging_VerboseLevelSet_DebugMessagesAppearAndTheSettingsReadBack()
    {
        using var models = new TempModelRepository("mlp");
        await using var server = await NodeProcess.StartAsync(["--models", models.Path]);
        using (var shown = JsonDocument.Parse(await server.Client.GetStringAsync("v2/logging")))
        {
            Assert.False(shown.RootElement.GetProperty("log_info").GetBoolean()); // the test processes start at Warning
            Assert.True(shown.RootElement.GetProperty("log_warning").GetBoolean());
            Assert.Equal(0, shown.RootElement.GetProperty("log_verbose_level").GetInt32());
        }

        using var changed = await server.Client.PostAsync("v2/logging", Oip.Json("""{"log_verbose_level": 1}"""));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        using (var shown = JsonDocument.Parse(await changed.Content.ReadAsStringAsync()))
        {
            Assert.Equal(1, shown.RootElement.GetProperty("log_verbose_level").GetInt32());
            Assert.True(shown.RootElement.GetProperty("log_info").GetBoolean());
        }

        // ASP.NET Core logs each request at Debug ("Request matched endpoint ..."), a category configured at Warning by
        // default: seen only once the level set replaces every category's.
        using var infer = await server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(MlpRequest));
        await server.WaitForOutputAsync("dbug:", TimeSpan.FromSeconds(30));

        foreach (var bad in (string[])["""{"log_file": "/tmp/x.log"}""", """{"log_info": "yes"}""", """{"log_verbose_level": -1}""", """{"level": 1}"""])
        {
            using var refused = await server.Client.PostAsync("v2/logging", Oip.Json(bad));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }
    }

    private static bool Complete(IReadOnlyList<OtlpCollector.Span> trace) =>
        trace.Any(s => s.Service == "servinggateway-edge" && s.Name == "auth")
        && trace.Any(s => s.Service == "servinggateway-edge" && s.Name == "route")
        && trace.Any(s => s.Service == "servinggateway-edge" && s.Scope == "Yarp.ReverseProxy")
        && trace.Any(s => s.Service == "servinggateway-node" && s.Scope == "ServingGateway.Requests")
        && trace.Any(s => s.Service == "servinggateway-node" && s.Name == "encode")
        && trace.Any(s => s.Service == "servinggateway-node" && s.Name == "queue wait")
        && trace.Any(s => s.Service == "servinggateway-node" && s.Name == "batch run");
}
