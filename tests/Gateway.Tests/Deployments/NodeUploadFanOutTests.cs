using Microsoft.Extensions.Logging.Abstractions;
using ServingGateway.Deployments.Versions;

namespace ServingGateway.Gateway.Tests.Deployments;

/// <summary>What an edge answers from its nodes' answers to an upload.</summary>
public sealed class NodeUploadFanOutTests
{
    private static readonly UploadRequest Request = new("m", "5", UploadKind.Model, "application/octet-stream");

    private static StoredVersion Decide(params NodeUploadFanOut.NodeAnswer[] answers) =>
        NodeUploadFanOut.Decide(Request, answers, new UploadReceipt(), NullLogger.Instance);

    [Fact]
    public void Decide_EveryNodeStoredOneDigest_CreatedWhenAnyCreated()
    {
        var stored = Decide(new("a", 201, "sha256:x", ""), new("b", 200, "sha256:x", ""));

        Assert.Equal(new StoredVersion("m", "5", "sha256:x", Created: true), stored);
        Assert.False(Decide(new("a", 200, "sha256:x", ""), new("b", 200, "sha256:x", "")).Created);
    }

    [Fact]
    public void Decide_EveryNodeRefusedAlike_ThatStatusWithTheReason()
    {
        var ex = Assert.Throws<UploadRefusedException>(() => Decide(new("a", 400, null, "ONNX Runtime cannot load"), new("b", 400, null, "ONNX Runtime cannot load")));

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("a: ONNX Runtime cannot load", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_SomeFailed_502NamingEachFailingNode()
    {
        var ex = Assert.Throws<UploadRefusedException>(() =>
            Decide(new("a", 201, "sha256:x", ""), new("b", 409, null, "other bytes"), new("c", 0, null, "connection refused")));

        Assert.Equal(502, ex.StatusCode);
        Assert.Contains("stored on [a (201, sha256:x)]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("b: 409 other bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("c: unreachable (connection refused)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_StoredWithDifferentDigests_502()
    {
        var ex = Assert.Throws<UploadRefusedException>(() => Decide(new("a", 201, "sha256:x", ""), new("b", 201, "sha256:y", "")));

        Assert.Equal(502, ex.StatusCode);
    }
}
