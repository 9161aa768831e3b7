using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;
using Xunit.Abstractions;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// The live status page (issue 15 item 4) in a real headless browser: Debian's chromium (SG_CHROMIUM, default
/// /usr/bin/chromium; .ci/run installs it) driven by Playwright for .NET, whose driver ships in its package and
/// runs offline (Playwright's own browser download is never used). And an edge's page data: its nodes' health.
/// </summary>
public sealed class StatusPageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Requests = 60;
    private readonly TempModelRepository _models = new("mlp");
    private GatewayServer _server = null!;

    public async Task InitializeAsync() => _server = await GatewayServer.StartAsync(_models.Path);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _models.Dispose();
    }

    /// <summary>The chromium the test drives; fails (never skips) when there is none, saying how to get one.</summary>
    private static string Chromium()
    {
        var configured = Environment.GetEnvironmentVariable("SG_CHROMIUM");
        var path = string.IsNullOrEmpty(configured) ? "/usr/bin/chromium" : configured;
        Assert.True(File.Exists(path), $"no chromium at {path}: install Debian's (apt-get install -y chromium, as .ci/run does) or set SG_CHROMIUM to a chromium binary");
        return path;
    }

    // Waits (60 s at most) until the page's script makes the expression true; fails saying what it waited for and what it saw.
    private static async Task UntilAsync(IPage page, string expression, object? argument, Func<Task<string>> what)
    {
        try
        {
            await page.WaitForFunctionAsync(expression, argument, new() { Timeout = 60_000, PollingInterval = 200 });
        }
        catch (TimeoutException)
        {
            Assert.Fail("not reached within 60 s: " + await what());
        }
    }

    [Fact]
    public async Task StatusPage_InBrowserWithTraffic_ListsMlpAndItsNumbersMove()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium(), Headless = true });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1100, Height = 720 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);

        await page.GotoAsync(new Uri(_server.BaseAddress, "status").ToString());
        var row = page.Locator("#models tr[data-model='mlp'][data-version='1']");
        await row.WaitForAsync(new() { Timeout = 60_000 });
        var before = await row.Locator("td.requests").TextContentAsync();
        var state = await row.Locator("td.state").TextContentAsync();

        for (var i = 0; i < Requests; i++)
        {
            using var response = await _server.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));
            response.EnsureSuccessStatusCode();
        }

        // The page reads /status/data every sample period (5 s); the sample after the traffic holds it.
        var expected = Requests.ToString(CultureInfo.InvariantCulture);
        await UntilAsync(
            page,
            "n => { const c = document.querySelector(\"#models tr[data-model='mlp'] td.requests\"); return c && c.textContent === n; }",
            expected,
            async () => $"mlp's requests cell to read {expected}; it reads '{await row.Locator("td.requests").TextContentAsync()}'");
        var rpsChart = page.Locator(".card[data-model='mlp'] .chart[data-series='rps']");
        await UntilAsync(
            page,
            "() => { const c = document.querySelector(\".card[data-model='mlp'] .chart[data-series='rps']\"); return c && Number(c.dataset.max) > 0; }",
            null,
            async () => $"a positive point in mlp's requests/s chart; its largest is {await rpsChart.GetAttributeAsync("data-max")}");
        var peak = double.Parse(await rpsChart.GetAttributeAsync("data-max") ?? "0", CultureInfo.InvariantCulture);
        var traffic = await page.Locator("#traffic").TextContentAsync();
        var nodes = await page.Locator("#nodes-note").TextContentAsync();

        var shot = Path.Combine(AppContext.BaseDirectory, "artifacts", "status.png");
        Directory.CreateDirectory(Path.GetDirectoryName(shot)!);
        await page.ScreenshotAsync(new() { Path = shot, FullPage = true });
        output.WriteLine($"screenshot: {shot}");
        if (Environment.GetEnvironmentVariable("SG_STATUS_SCREENSHOT") is { Length: > 0 } docs)
        {
            File.Copy(shot, docs, overwrite: true); // scripts/status-screenshot.sh: docs/images/status.png
        }

        Assert.Equal("0", before);
        Assert.Equal("ready", state);
        Assert.InRange(peak, 0.1, Requests); // 60 requests within one or two 5 s periods
        Assert.StartsWith("no traffic split", traffic, StringComparison.Ordinal);
        Assert.Contains("standalone", nodes, StringComparison.Ordinal);
        Assert.True(errors.Count == 0, "browser errors: " + string.Join("; ", errors));
        Assert.True(new FileInfo(shot).Length > 10_000, $"screenshot {shot} is {new FileInfo(shot).Length} bytes");
    }

    [Fact]
    public async Task StatusData_Edge_NodesWithTheHealthRoutingUses()
    {
        await using var node = await GatewayServer.StartAsync(_models.Path, "--role", "node");
        const string dead = "http://127.0.0.1:1"; // nothing listens on port 1 (tcpmux) here: every probe is refused
        await using var edge = await GatewayServer.StartAsync(_models.Path, "--role", "edge", "--node", node.BaseAddress.ToString().TrimEnd('/'), "--node", dead,
            "--Edge:HealthCheckIntervalSeconds", "1", "--Auth:AllowAnonymous", "true");

        JsonElement root = default;
        await Poll.UntilAsync(
            async () =>
            {
                using var json = JsonDocument.Parse(await edge.Client.GetStringAsync("status/data"));
                root = json.RootElement.Clone();
                // YARP marks the probe's result first and recomputes the available destinations after it: wait for both.
                var active = root.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("active").GetString()).ToArray();
                var health = root.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("health").GetString()).ToArray();
                return active is ["healthy", "unhealthy"] or ["unhealthy", "healthy"] && health.SequenceEqual(active);
            },
            () => $"one node healthy, the other unhealthy, in the probes and in what routing uses; last: {root}");

        Assert.Equal("edge", root.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("models").ValueKind);
        var nodes = root.GetProperty("nodes").EnumerateArray().ToDictionary(n => n.GetProperty("address").GetString()!.TrimEnd('/'), n => n);
        Assert.Equal("healthy", nodes[node.BaseAddress.ToString().TrimEnd('/')].GetProperty("health").GetString());
        Assert.Equal("unhealthy", nodes[dead].GetProperty("health").GetString());
    }
}
