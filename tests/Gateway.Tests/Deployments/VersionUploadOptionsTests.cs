using ServingGateway.Deployments.Versions;
using ServingGateway.Hosting;

namespace ServingGateway.Gateway.Tests.Deployments;

/// <summary>Deployments:MaxUploadMb, MaxArchiveEntries and MaxExpandedMb through the real start-up: each bad value listed, all at once.</summary>
public sealed class VersionUploadOptionsTests
{
    [Fact]
    public void Build_EveryUploadLimitOutOfRange_ListsEachError()
    {
        var ex = Assert.Throws<StartupException>(() => GatewayApp.Build(CommandLine.Parse(
            ["--Deployments:MaxUploadMb", "0", "--Deployments:MaxArchiveEntries", "100001", "--Deployments:MaxExpandedMb", "-1"])));

        Assert.Contains("Deployments:MaxUploadMb must be from 1 to 1048576; it is 0.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Deployments:MaxArchiveEntries must be from 1 to 100000; it is 100001.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Deployments:MaxExpandedMb must be from 1 to 1048576; it is -1.", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Defaults_NoErrorAndAGigabyteUpload()
    {
        var options = new VersionUploadOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(1L << 30, options.MaxUploadBytes);
    }
}
