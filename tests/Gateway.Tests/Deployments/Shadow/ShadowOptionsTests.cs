using ServingGateway.Hosting;

namespace ServingGateway.Gateway.Tests.Deployments.Shadow;

public sealed class ShadowOptionsTests
{
    [Fact]
    public void Build_EveryShadowSettingOutOfRange_ListsEachError()
    {
        var ex = Assert.Throws<StartupException>(() => GatewayApp.Build(CommandLine.Parse(
        [
            "--Deployments:Shadow:QueueCapacity", "0", "--Deployments:Shadow:MaxQueuedBytes", "1000",
            "--Deployments:Shadow:Concurrency", "17", "--Deployments:Shadow:TimeoutMs", "99",
        ])));

        Assert.Contains("Deployments:Shadow:QueueCapacity must be from 1 to 100000; it is 0.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Deployments:Shadow:MaxQueuedBytes must be from 65536 to 17179869184; it is 1000.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Deployments:Shadow:Concurrency must be from 1 to 16; it is 17.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Deployments:Shadow:TimeoutMs must be from 100 to 600000; it is 99.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_ShadowSettingsAtTheirBounds_Builds()
    {
        await using var app = GatewayApp.Build(CommandLine.Parse(
        [
            "--Deployments:Shadow:QueueCapacity", "100000", "--Deployments:Shadow:MaxQueuedBytes", "65536",
            "--Deployments:Shadow:Concurrency", "16", "--Deployments:Shadow:TimeoutMs", "100",
        ]));
    }
}
