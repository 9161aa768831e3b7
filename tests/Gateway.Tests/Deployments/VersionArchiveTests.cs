using System.Formats.Tar;
using System.IO.Compression;
using ServingGateway.Deployments.Versions;

namespace ServingGateway.Gateway.Tests.Deployments;

/// <summary>What an uploaded archive may hold: relative paths inside the version folder, regular files and folders, bounded entries and bytes.</summary>
public sealed class VersionArchiveTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-archive-" + Guid.NewGuid().ToString("N"));

    public VersionArchiveTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "out"));
    }

    private string Out => Path.Combine(_dir, "out");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteZip(Action<ZipArchive> fill)
    {
        var path = Path.Combine(_dir, "upload.zip");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            fill(zip);
        }

        return path;
    }

    private string WriteTar(params TarEntry[] entries)
    {
        var path = Path.Combine(_dir, "upload.tar");
        using (var stream = File.Create(path))
        using (var tar = new TarWriter(stream, TarEntryFormat.Pax))
        {
            foreach (var entry in entries)
            {
                tar.WriteEntry(entry);
            }
        }

        return path;
    }

    private static void AddFile(ZipArchive zip, string name, int bytes)
    {
        using var stream = zip.CreateEntry(name).Open();
        stream.Write(new byte[bytes]);
    }

    private static PaxTarEntry TarFile(string name, int bytes) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(new byte[bytes]) };

    private string[] Extracted() =>
        [.. Directory.GetFileSystemEntries(Out, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(Out, p)).Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData("../model.onnx", "leaves the version folder")]
    [InlineData("a/../../model.onnx", "leaves the version folder")]
    [InlineData("/etc/model.onnx", "is not a relative path")]
    [InlineData("a\\..\\model.onnx", "is not a relative path")]
    [InlineData("C:model.onnx", "is not a relative path")]
    public void SafeRelativePath_EscapingName_400(string name, string reason)
    {
        var ex = Assert.Throws<UploadRefusedException>(() => VersionArchive.SafeRelativePath(name));

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("model.onnx", "model.onnx")]
    [InlineData("./3/model.onnx", "3/model.onnx")]
    [InlineData("assets//vocab.txt", "assets/vocab.txt")]
    [InlineData("assets/", "assets")]
    public void SafeRelativePath_RelativeName_Normalised(string name, string expected) =>
        Assert.Equal(expected, VersionArchive.SafeRelativePath(name));

    [Fact]
    public void Extract_ZipOfFilesAndFolders_WritesThem()
    {
        var zip = WriteZip(z =>
        {
            AddFile(z, "model.onnx", 10);
            z.CreateEntry("assets/");
            AddFile(z, "assets/vocab.txt", 3);
        });

        VersionArchive.Extract(zip, zip: true, Out, maxEntries: 3, maxBytes: 13);

        Assert.Equal(["assets", Path.Combine("assets", "vocab.txt"), "model.onnx"], Extracted());
        Assert.Equal(10, new FileInfo(Path.Combine(Out, "model.onnx")).Length);
    }

    [Fact]
    public void Extract_ZipSymbolicLink_400NothingFollowed()
    {
        var zip = WriteZip(z =>
        {
            var link = z.CreateEntry("model.onnx");
            link.ExternalAttributes = (0xA000 | 0x1FF) << 16; // S_IFLNK | 0777, as zip -y stores a link
            using var target = link.Open();
            target.Write("/etc/passwd"u8);
        });

        var ex = Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(zip, zip: true, Out, 10, 1000));

        Assert.Contains("symbolic link", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Extracted());
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink)]
    [InlineData(TarEntryType.HardLink)]
    public void Extract_TarLink_400(TarEntryType type)
    {
        var tar = WriteTar(TarFile("model.onnx", 4), new PaxTarEntry(type, "other.onnx") { LinkName = "/etc/passwd" });

        var ex = Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(tar, zip: false, Out, 10, 1000));

        Assert.Contains("is a link", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_TarParentPath_400()
    {
        var tar = WriteTar(TarFile("../model.onnx", 4));

        var ex = Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(tar, zip: false, Out, 10, 1000));

        Assert.Contains("leaves the version folder", ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "model.onnx")));
    }

    [Fact]
    public void Extract_MoreEntriesThanAllowed_400()
    {
        var tar = WriteTar(TarFile("a", 1), TarFile("b", 1), TarFile("c", 1));

        var ex = Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(tar, zip: false, Out, maxEntries: 2, maxBytes: 1000));

        Assert.Contains("more than 2 entries (Deployments:MaxArchiveEntries)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_ZipBomb_400AtTheExpandedLimitNotAtTheHeadersClaim()
    {
        // 4 MiB of zeros compresses to a few KiB: the limit is counted on what is written.
        var zip = WriteZip(z => AddFile(z, "model.onnx", 4 << 20));
        Assert.True(new FileInfo(zip).Length < 64 * 1024);

        var ex = Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(zip, zip: true, Out, 10, maxBytes: 1 << 20));

        Assert.Contains("expands to more than 1 MiB (Deployments:MaxExpandedMb)", ex.Message, StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(Out, "model.onnx")).Length <= (1 << 20));
    }

    [Fact]
    public void Extract_SameNameTwice_400()
    {
        var tar = WriteTar(TarFile("model.onnx", 1), TarFile("./model.onnx", 2));

        var ex = Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(tar, zip: false, Out, 10, 1000));

        Assert.Contains("appears twice", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_NotAnArchive_400()
    {
        var path = Path.Combine(_dir, "garbage");
        File.WriteAllBytes(path, [.. Enumerable.Range(0, 2048).Select(i => (byte)(i * 37))]);

        Assert.Equal(400, Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(path, zip: true, Out, 10, 1000)).StatusCode);
        Assert.Equal(400, Assert.Throws<UploadRefusedException>(() => VersionArchive.Extract(path, zip: false, Out, 10, 1000)).StatusCode);
    }
}
