using ServingGateway.Deployments.Fleet;

namespace ServingGateway.Gateway.Tests.Deployments.Fleet;

/// <summary>The nodes' stored versions compared: agreed digests, conflicts never copied, the source of a copy.</summary>
public sealed class FleetVersionsTests
{
    private const string A = "http://10.0.0.1:8000";
    private const string B = "http://10.0.0.2:8000";
    private const string C = "http://10.0.0.3:8000";

    private static NodeListing Node(string url, params (string Model, long Version, string? Digest, string State)[] versions) =>
        new(url,
            versions.GroupBy(v => v.Model).ToDictionary(
                g => g.Key,
                g => (IReadOnlyDictionary<long, NodeListing.StoredOnNode>)g.ToDictionary(v => v.Version, v => new NodeListing.StoredOnNode(v.Digest, v.State))),
            new Dictionary<string, System.Text.Json.JsonElement>());

    [Fact]
    public void Copies_VersionMissingOnANode_CopiedFromTheFirstHolderByUrl()
    {
        // Given out of order: the comparison orders nodes by URL.
        var fleet = new FleetVersions([Node(C, ("m", 2, "sha256:x", "READY")), Node(A), Node(B, ("m", 2, "sha256:x", "NOT_LOADED"), ("m", 1, "sha256:o", "READY"))]);

        var copies = fleet.Copies();

        Assert.Equal(
            [new VersionCopy("m", 1, "sha256:o", B, A), new VersionCopy("m", 1, "sha256:o", B, C), new VersionCopy("m", 2, "sha256:x", B, A)],
            copies);
        Assert.Equal([2L, 1L], fleet.Stored("m"));
        Assert.Empty(fleet.Stored("other"));
    }

    [Fact]
    public void Describe_DifferentDigests_ConflictNamingEachNode_NeverCopied()
    {
        var fleet = new FleetVersions([Node(A, ("m", 4, "sha256:one", "READY")), Node(B, ("m", 4, "sha256:two", "READY")), Node(C)]);

        var version = fleet.Describe("m", 4);

        Assert.Null(version.Digest);
        Assert.Contains($"{A} sha256:one", version.Conflict, StringComparison.Ordinal);
        Assert.Contains($"{B} sha256:two", version.Conflict, StringComparison.Ordinal);
        Assert.Equal([C], version.Missing);
        Assert.Empty(fleet.Copies());
    }

    [Fact]
    public void Copies_AHolderWithoutADigest_NeitherConflictNorSource()
    {
        var fleet = new FleetVersions([Node(A, ("m", 3, null, "UNAVAILABLE")), Node(B, ("m", 3, "sha256:x", "READY")), Node(C)]);

        var version = fleet.Describe("m", 3);

        Assert.Equal("sha256:x", version.Digest);
        Assert.Null(version.Conflict);
        Assert.Equal(FleetVersion.Mixed, version.State);
        Assert.Equal([new VersionCopy("m", 3, "sha256:x", B, C)], fleet.Copies());
    }

    [Fact]
    public void Copies_OneModelAndVersions_OnlyThose()
    {
        var fleet = new FleetVersions([Node(A, ("m", 1, "sha256:a", "READY"), ("m", 2, "sha256:b", "READY"), ("n", 1, "sha256:c", "READY")), Node(B)]);

        Assert.Equal([new VersionCopy("m", 2, "sha256:b", A, B)], fleet.Copies("m", [2]));
        Assert.Equal(2, fleet.Copies("m").Count);
        Assert.Equal(3, fleet.Copies().Count);
    }

    [Fact]
    public void Parse_NotAListing_FormatExceptionNamingTheNode()
    {
        var ex = Assert.Throws<FormatException>(() => NodeListing.Parse(A, """{"error": "nope"}"""));

        Assert.Contains(A, ex.Message, StringComparison.Ordinal);
        var listing = NodeListing.Parse(A, """{"models": [{"name": "m", "reason": "", "versions": [{"version": "3", "digest": "sha256:x", "state": "READY"}]}]}""");
        Assert.Equal("sha256:x", listing.Models["m"][3].Digest);
    }
}
