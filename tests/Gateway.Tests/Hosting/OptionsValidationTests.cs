using Microsoft.AspNetCore.Builder;
using ServingGateway.Hosting;

namespace ServingGateway.Gateway.Tests.Hosting;

/// <summary>
/// Every rule of the Edge, RateLimits and Cache options, through the real start-up: each bad value is
/// refused with its own line, and all of them are listed at once.
/// </summary>
public class OptionsValidationTests
{
    private static StartupException BuildFails(params string[] args) =>
        Assert.Throws<StartupException>(() => GatewayApp.Build(CommandLine.Parse(args)));

    private static async Task BuildsAsync(params string[] args)
    {
        await using WebApplication app = GatewayApp.Build(CommandLine.Parse(args));
    }

    // The lines of a start-up error that name a setting ("ServingGateway: <error>").
    private static string[] Errors(StartupException ex) =>
        [.. ex.Message.Split(Environment.NewLine).Where(l => l.StartsWith("ServingGateway: ", StringComparison.Ordinal)).Select(l => l["ServingGateway: ".Length..])];

    private static void AssertListsExactly(StartupException ex, params string[] expected)
    {
        var errors = Errors(ex);
        Assert.Equal(expected.Length, errors.Length);
        foreach (var error in expected)
        {
            Assert.Contains(errors, e => e.StartsWith(error, StringComparison.Ordinal));
        }
    }

    private static string[] EdgeArgs(string node, string dns, params string[] values)
    {
        string[] keys = ["DnsRefreshSeconds", "VirtualNodes", "LoadFactor", "HealthCheckIntervalSeconds", "PassiveFailureRate", "PassiveWindowSeconds", "ReactivationSeconds", "MaxRequestBodyBytes", "RequestHeadersTimeoutSeconds", "MaxSaturationSeconds"];
        return ["--role", "edge", "--node", node, "--nodes-dns", dns, .. keys.Zip(values).SelectMany(p => new[] { "--Edge:" + p.First, p.Second })];
    }

    [Theory]
    [InlineData("0.5", "0", "0.99", "0.09", "0.009", "0.5", "0.09", "1023", "0.5", "0.99")]
    [InlineData("3601", "10001", "100.5", "3601", "1.01", "3601", "3601", "2147483648", "601", "3600.5")]
    public void Build_EveryEdgeSettingOutOfRange_ListsEachError(string dnsRefresh, string virtualNodes, string loadFactor, string healthInterval,
        string passiveRate, string passiveWindow, string reactivation, string maxBody, string headersTimeout, string maxSaturation)
    {
        var ex = BuildFails(EdgeArgs("ftp://node:1", "no-port", dnsRefresh, virtualNodes, loadFactor, healthInterval, passiveRate, passiveWindow, reactivation, maxBody, headersTimeout, maxSaturation));

        AssertListsExactly(
            ex,
            "Edge:Nodes: 'ftp://node:1' is not an http(s) URL",
            "Edge:NodesDns (--nodes-dns) must be NAME:PORT; it is 'no-port'",
            "Edge:DnsRefreshSeconds must be from 1 to 3600",
            "Edge:VirtualNodes must be from 1 to 10000",
            "Edge:LoadFactor must be from 1 to 100",
            "Edge:HealthCheckIntervalSeconds must be from 0.1 to 3600",
            "Edge:PassiveFailureRate must be from 0.01 to 1",
            "Edge:PassiveWindowSeconds must be from 1 to 3600",
            "Edge:ReactivationSeconds must be from 0.1 to 3600",
            "Edge:MaxRequestBodyBytes must be from 1024 to 2147483647",
            "Edge:RequestHeadersTimeoutSeconds must be from 1 to 600",
            "Edge:MaxSaturationSeconds must be from 1 to 3600");
    }

    [Theory]
    [InlineData("1", "1", "1", "0.1", "0.01", "1", "0.1", "1024", "1", "1")]
    [InlineData("3600", "10000", "100", "3600", "1", "3600", "3600", "2147483647", "600", "3600")]
    public async Task Build_EdgeSettingsAtTheirBounds_Builds(string dnsRefresh, string virtualNodes, string loadFactor, string healthInterval,
        string passiveRate, string passiveWindow, string reactivation, string maxBody, string headersTimeout, string maxSaturation)
    {
        await BuildsAsync(EdgeArgs("http://127.0.0.1:1", "nodes.local:8000", dnsRefresh, virtualNodes, loadFactor, healthInterval, passiveRate, passiveWindow, reactivation, maxBody, headersTimeout, maxSaturation));
    }

    [Theory]
    [InlineData("0.0009", "0")]
    [InlineData("1000001", "1000001")]
    public void Build_EveryRateLimitOutOfRange_ListsEachError(string rate, string burst)
    {
        var ex = BuildFails(
            "--RateLimits:Default:Rate", rate, "--RateLimits:Default:Burst", burst,
            "--RateLimits:Models:mlp:Rate", rate, "--RateLimits:Models:mlp:Burst", burst);

        AssertListsExactly(
            ex,
            "RateLimits:Default:Rate must be from 0.001 to 1000000 requests a second",
            "RateLimits:Default:Burst must be from 1 to 1000000",
            "RateLimits:Models:mlp:Rate must be from 0.001 to 1000000 requests a second",
            "RateLimits:Models:mlp:Burst must be from 1 to 1000000");
    }

    [Theory]
    [InlineData("0.001", "1")]
    [InlineData("1000000", "1000000")]
    public async Task Build_RateLimitsAtTheirBounds_Builds(string rate, string burst)
    {
        await BuildsAsync("--RateLimits:Default:Rate", rate, "--RateLimits:Default:Burst", burst, "--RateLimits:Models:mlp:Rate", rate, "--RateLimits:Models:mlp:Burst", burst);
    }

    [Fact]
    public void Build_ModelRateLimitWithoutBurst_IsRefused()
    {
        var ex = BuildFails("--RateLimits:Models:mlp:Rate", "5");

        AssertListsExactly(ex, "RateLimits:Models:mlp:Burst must be from 1 to 1000000");
    }

    [Theory]
    [InlineData("0", "0.09", "0", "0.09", "999", "0.00009")]
    [InlineData("1048577", "1001", "1001", "601", "100000001", "0.51")]
    public void Build_EveryCacheSettingOutOfRange_ListsEachError(string memoryMb, string budget, string failures, string openSeconds, string keys, string falsePositives)
    {
        var ex = BuildFails(
            "--Cache:MemoryMb", memoryMb, "--Cache:RedisReadBudgetMs", budget, "--Cache:RedisFailuresToOpen", failures,
            "--Cache:RedisOpenSeconds", openSeconds, "--Cache:SecondHitExpectedKeys", keys, "--Cache:SecondHitFalsePositiveRate", falsePositives);

        AssertListsExactly(
            ex,
            "Cache:MemoryMb must be from 1 to 1048576",
            "Cache:RedisReadBudgetMs must be from 0.1 to 1000",
            "Cache:RedisFailuresToOpen must be from 1 to 1000",
            "Cache:RedisOpenSeconds must be from 0.1 to 600",
            "Cache:SecondHitExpectedKeys must be from 1000 to 100000000",
            "Cache:SecondHitFalsePositiveRate must be from 0.0001 to 0.5");
    }

    [Theory]
    [InlineData("1", "0.1", "1", "0.1", "1000", "0.0001")]
    [InlineData("1048576", "1000", "1000", "600", "100000000", "0.5")]
    public async Task Build_CacheSettingsAtTheirBounds_Builds(string memoryMb, string budget, string failures, string openSeconds, string keys, string falsePositives)
    {
        await BuildsAsync(
            "--Cache:MemoryMb", memoryMb, "--Cache:RedisReadBudgetMs", budget, "--Cache:RedisFailuresToOpen", failures,
            "--Cache:RedisOpenSeconds", openSeconds, "--Cache:SecondHitExpectedKeys", keys, "--Cache:SecondHitFalsePositiveRate", falsePositives);
    }

    [Theory]
    [InlineData("1", "0.04")]
    [InlineData("1000001", "3601")]
    public void Build_CachePauseSettingsOutOfRange_ListsEachError(string sampleEvery, string windowSeconds)
    {
        var ex = BuildFails("--Cache:PausedSampleEvery", sampleEvery, "--Cache:PauseWindowSeconds", windowSeconds);

        AssertListsExactly(ex, "Cache:PausedSampleEvery must be from 2 to 1000000", "Cache:PauseWindowSeconds must be from 0.05 to 3600");
    }

    [Theory]
    [InlineData("2", "0.05", "true")]
    [InlineData("1000000", "3600", "false")]
    public async Task Build_CachePauseSettingsAtTheirBounds_Builds(string sampleEvery, string windowSeconds, string pause)
    {
        await BuildsAsync("--Cache:PausedSampleEvery", sampleEvery, "--Cache:PauseWindowSeconds", windowSeconds, "--Cache:PauseUnprofitable", pause);
    }

    [Fact]
    public void Build_CacheSettingsOnAnEdge_AreNotItsConcern()
    {
        // An edge runs no cache: its Cache section is not validated (a shared config file may carry a node's).
        var ex = BuildFails("--role", "edge", "--node", "http://127.0.0.1:1", "--Cache:MemoryMb", "0", "--Edge:VirtualNodes", "0");

        AssertListsExactly(ex, "Edge:VirtualNodes must be from 1 to 10000");
    }
}
