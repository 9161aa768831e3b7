using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// deploy/monitoring (issue 15): the alert rules and the dashboard ask for metrics a running server exports, with
/// labels it gives them; promtool checks the rules, runs their unit tests (alerts.test.yaml) and parses every
/// dashboard query. promtool comes from Debian's prometheus package, unpacked by .ci/run (no daemon);
/// elsewhere the promtool test is skipped, saying so.
/// </summary>
public sealed partial class MonitoringTests
{
    private static readonly string Monitoring = Path.Combine(RepoPaths.Root, "deploy", "monitoring");

    [Fact]
    public async Task MetricNames_InRulesAndDashboard_AreExportedByARunningServer()
    {
        // A node and an edge in front of it with a default limit of two requests: two answers and one 429, so the
        // node's and the edge's families have samples whose labels can be compared.
        await using var node = await GatewayServer.StartAsync(RepoPaths.TestModels, "--role", "node");
        await using var edge = await GatewayServer.StartAsync(
            RepoPaths.TestModels, "--role", "edge", "--node", node.BaseAddress.ToString().TrimEnd('/'), "--Auth:AllowAnonymous", "true",
            "--RateLimits:Default:Rate", "0.001", "--RateLimits:Default:Burst", "2");
        var statuses = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            using var infer = await edge.Client.PostAsync("v2/models/mlp/infer", Oip.Json(Oip.JsonRequest("input", [1, 64], new float[64])));
            statuses.Add((int)infer.StatusCode);
        }

        Assert.Equal([200, 200, 429], statuses);
        var exposition = await node.Client.GetStringAsync("metrics") + await edge.Client.GetStringAsync("metrics");
        var families = TypeLine().Matches(exposition).GroupBy(m => m.Groups[1].Value, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Groups[2].Value, StringComparer.Ordinal);
        var exported = new HashSet<string>(families.Keys, StringComparer.Ordinal);
        foreach (var (name, _) in families.Where(f => f.Value == "histogram"))
        {
            exported.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
        }

        var used = Queries().SelectMany(q => MetricName().Matches(q.Expr).Select(m => (q.Where, Name: m.Value))).ToList();
        Assert.True(used.Select(u => u.Name).Distinct().Count() >= 12, $"only {used.Select(u => u.Name).Distinct().Count()} metric names found in the rules and the dashboard");
        var missing = used.Where(u => !exported.Contains(u.Name)).Select(u => $"{u.Where}: {u.Name}").Distinct().ToList();
        Assert.True(missing.Count == 0, "not exported by the server: " + string.Join(", ", missing));

        // Labels a selector matches on: each one the server's samples of that metric carry (Prometheus adds
        // instance and job at the scrape).
        var labels = Sample().Matches(exposition)
            .GroupBy(m => m.Groups[1].Value, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.SelectMany(m => LabelName().Matches(m.Groups[2].Value).Select(l => l.Groups[1].Value)).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        Assert.Contains("outcome", labels["sg_inference_requests_total"]);
        Assert.All(
            (string[])["sg_inference_request_duration_seconds", "sg_batch_size", "sg_queue_duration_seconds", "sg_edge_forwarded_total", "sg_rate_limited_total", "sg_rate_limit_decisions_total", "sg_edge_node_in_flight", "sg_edge_node_available"],
            family => Assert.True(labels.ContainsKey(family), $"no samples of {family}"));
        var wrong = new List<string>();
        foreach (var (where, expr) in Queries())
        {
            foreach (Match selector in Selector().Matches(expr))
            {
                if (!labels.TryGetValue(HistogramSeries().Replace(selector.Groups[1].Value, ""), out var carried))
                {
                    continue; // a family this traffic gives no samples (retries, saturation, reloads)
                }

                wrong.AddRange(LabelName().Matches(selector.Groups[2].Value).Select(l => l.Groups[1].Value)
                    .Where(l => l is not "instance" and not "job" && !carried.Contains(l))
                    .Select(l => $"{where}: {selector.Groups[1].Value}{{{l}}}"));
            }
        }

        Assert.True(wrong.Count == 0, "labels the server does not give: " + string.Join(", ", wrong));
    }

    [SkippableFact]
    public async Task Promtool_ChecksAndTestsTheRulesAndParsesTheDashboardQueries()
    {
        var promtool = FindPromtool();
        Skip.If(promtool is null, "promtool not found (PATH or SG_PROMTOOL); .ci/run unpacks it from Debian's prometheus package");

        var check = await RunAsync(promtool!, Monitoring, "check", "rules", "alerts.yaml");
        Assert.True(check.ExitCode == 0, check.Output);
        Assert.Contains("SUCCESS", check.Output, StringComparison.Ordinal);

        var test = await RunAsync(promtool!, Monitoring, "test", "rules", "alerts.test.yaml");
        Assert.True(test.ExitCode == 0, test.Output);

        // Every dashboard query, with its template variables filled in, as a recording rule promtool parses.
        var rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        var queries = Queries().Where(q => q.Where.StartsWith("dashboard", StringComparison.Ordinal)).ToList();
        Assert.True(queries.Count >= 15, $"only {queries.Count} dashboard queries");
        for (var i = 0; i < queries.Count; i++)
        {
            var expr = queries[i].Expr.Replace("$model", ".+", StringComparison.Ordinal);
            rules.Append($"      - record: dashboard:query_{i}\n        expr: {JsonSerializer.Serialize(expr)}\n");
        }

        var file = Path.Combine(Path.GetTempPath(), $"sg-dashboard-{Guid.NewGuid():N}.yaml");
        try
        {
            await File.WriteAllTextAsync(file, rules.ToString());
            var parsed = await RunAsync(promtool!, Path.GetTempPath(), "check", "rules", file);
            Assert.True(parsed.ExitCode == 0, parsed.Output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    // Every PromQL expression of the alert rules (expr) and the dashboard (targets[].expr), with where it is.
    private static List<(string Where, string Expr)> Queries()
    {
        var queries = Regex.Matches(File.ReadAllText(Path.Combine(Monitoring, "alerts.yaml")), @"^\s+- (?:alert|record): (\S+)\n\s+expr: (\|\n(?:\s{10,}.*\n)+|.*\n)", RegexOptions.Multiline)
            .Select(m => ("alerts.yaml " + m.Groups[1].Value, m.Groups[2].Value.TrimStart('|')))
            .ToList();
        Assert.True(queries.Count >= 12, $"only {queries.Count} rules read from alerts.yaml");

        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Monitoring, "dashboard.json")));
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            if (panel.TryGetProperty("targets", out var targets))
            {
                queries.AddRange(targets.EnumerateArray().Select(t => ("dashboard " + panel.GetProperty("title").GetString(), t.GetProperty("expr").GetString()!)));
            }
        }

        return queries;
    }

    private static string? FindPromtool()
    {
        if (Environment.GetEnvironmentVariable("SG_PROMTOOL") is { Length: > 0 } configured && File.Exists(configured))
        {
            return configured;
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "promtool")).FirstOrDefault(File.Exists);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string directory, params string[] args)
    {
        var (exitCode, output, error) = await ToolProcess.RunAsync(program, args, directory);
        return (exitCode, output + error);
    }

    [GeneratedRegex(@"^# TYPE (sg_[a-z0-9_]+) (\w+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"\bsg_[a-z0-9_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^(sg_[a-z0-9_]+?)(?:_bucket|_sum|_count)?\{([^}]*)\}", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [GeneratedRegex(@"_bucket$|_sum$|_count$")]
    private static partial Regex HistogramSeries();

    [GeneratedRegex(@"\b(sg_[a-z0-9_]+)\{([^}]*)\}")]
    private static partial Regex Selector();

    [GeneratedRegex(@"([a-z_]+)\s*(?:=~|!=|!~|=)")]
    private static partial Regex LabelName();
}
