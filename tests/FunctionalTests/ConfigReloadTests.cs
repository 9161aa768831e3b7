using System.Net;
using System.Text.RegularExpressions;
using ServingGateway.FunctionalTests.Infrastructure;
using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests;

/// <summary>
/// A changed --config file is checked as at start: a broken one is refused (error log, metric) and the
/// last good keys and limits stay in force; a valid one is applied.
/// </summary>
public sealed partial class ConfigReloadTests : IAsyncLifetime
{
    private const string OldKey = "old-key-0123456789";
    private const string NewKey = "new-key-9876543210";
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"sg-reload-{Guid.NewGuid():N}.json");
    private GatewayServer _server = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_config, Config(Key("old", OldKey), rate: 1000, burst: 1000));
        _server = await GatewayServer.StartAsync(RepoPaths.TestModels, "--config", _config, "--Auth:AllowAnonymous", "false");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        File.Delete(_config);
    }

    private static string Key(string name, string key) =>
        $$"""{"Name": "{{name}}", "Sha256": "{{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))}}", "Roles": ["infer"]}""";

    private static string Config(string keys, double rate, int burst) => $$"""
        {
          "Auth": {"Keys": [{{keys}}]},
          "RateLimits": {"Default": {"Rate": {{rate}}, "Burst": {{burst}} } }
        }
        """;

    private async Task<HttpStatusCode> MetadataAsync(string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v2/models/mlp");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var response = await _server.Client.SendAsync(request);
        return response.StatusCode;
    }

    private async Task<long> ReloadsAsync(string outcome)
    {
        var metrics = await _server.Client.GetStringAsync("metrics");
        return ReloadLine().Matches(metrics).Where(m => m.Groups["outcome"].Value == outcome).Sum(m => (long)double.Parse(m.Groups["count"].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    // Writes the file and waits, bounded, until the server has counted a reload with that outcome.
    private async Task<bool> WriteAndWaitAsync(string contents, string outcome)
    {
        var before = await ReloadsAsync(outcome);
        await File.WriteAllTextAsync(_config, contents);
        return await EventuallyAsync(async () => await ReloadsAsync(outcome) > before);
    }

    // Polls until the condition holds, for 10 s at most; whether it did.
    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return false;
    }

    public static TheoryData<string, string> BrokenConfigs => new()
    {
        { "duplicate key hashes", Config(Key("old", OldKey) + "," + Key("twin", OldKey), 1000, 1000) },
        { "Rate 0", Config(Key("old", OldKey), 0, 1000) },
        { "Burst 0", Config(Key("old", OldKey), 1000, 0) },
        { "a rate that is not a number", Config(Key("old", OldKey), 1000, 1000).Replace("\"Rate\": 1000", "\"Rate\": \"fast\"", StringComparison.Ordinal) },
        { "half written", Config(Key("old", OldKey), 1000, 1000)[..40] },
        { "empty", "" },
    };

    [Theory]
    [MemberData(nameof(BrokenConfigs))]
    public async Task Reload_BrokenFile_RefusedAndTheOldKeysStillWork(string what, string contents)
    {
        Assert.Equal(HttpStatusCode.OK, await MetadataAsync(OldKey));

        var refused = await WriteAndWaitAsync(contents, "refused");

        Assert.Equal(HttpStatusCode.OK, await MetadataAsync(OldKey));
        Assert.Equal(HttpStatusCode.OK, await MetadataAsync(OldKey)); // a limit of Rate 0 or Burst 0 would refuse by now
        Assert.Equal(HttpStatusCode.Unauthorized, await MetadataAsync(NewKey));
        Assert.True(refused, $"the reload of a file with {what} was not counted as refused");
    }

    [Fact]
    public async Task Reload_ValidFileAfterABrokenOne_AppliesTheNewKeys()
    {
        Assert.True(await WriteAndWaitAsync(Config(Key("old", OldKey), 0, 1000), "refused"));

        Assert.True(await WriteAndWaitAsync(Config(Key("new", NewKey), 1000, 1000), "applied"));

        // Reloads are counted by section, each section's reload on its own: the count that rose may be another
        // section's, or Auth's reload of the broken file, so wait (bounded) for the new keys themselves.
        await EventuallyAsync(async () => await MetadataAsync(NewKey) == HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.OK, await MetadataAsync(NewKey));
        Assert.Equal(HttpStatusCode.Unauthorized, await MetadataAsync(OldKey));
    }

    [GeneratedRegex("""sg_config_reloads_total\{section="[^"]+",outcome="(?<outcome>[a-z]+)"\} (?<count>[0-9.e+]+)""")]
    private static partial Regex ReloadLine();
}
