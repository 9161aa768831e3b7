using ServingGateway.Inference.Catalog;

namespace ServingGateway.Inference.Tests.Catalog;

public sealed class ModelDigestTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-digest-" + Guid.NewGuid().ToString("N"));

    public ModelDigestTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.WriteAllText(Path.Combine(_dir, "model.onnx"), "weights");
        File.WriteAllText(Path.Combine(_dir, "sub", "extra.bin"), "more");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Compute_SameFiles_SameDigest()
    {
        var first = ModelDigest.Compute(_dir);

        Assert.Equal(first, ModelDigest.Compute(_dir));
        Assert.Matches("^sha256:[0-9a-f]{64}$", first);
    }

    [Fact]
    public void Compute_ContentChanges_DigestChanges()
    {
        var before = ModelDigest.Compute(_dir);
        File.WriteAllText(Path.Combine(_dir, "sub", "extra.bin"), "moRe");

        Assert.NotEqual(before, ModelDigest.Compute(_dir));
    }

    [Fact]
    public void Compute_FileMovedBetweenNames_DigestChanges()
    {
        var before = ModelDigest.Compute(_dir);
        File.Move(Path.Combine(_dir, "sub", "extra.bin"), Path.Combine(_dir, "sub", "extra2.bin"));

        Assert.NotEqual(before, ModelDigest.Compute(_dir));
    }
}
