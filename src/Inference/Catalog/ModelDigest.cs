using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ServingGateway.Inference.Catalog;

/// <summary>
/// The immutable identity of a model version: SHA-256 over every file of its folder, in ordinal order of
/// relative path, each as its path, a zero byte, its length (8 bytes, little-endian) and its bytes.
/// </summary>
internal static class ModelDigest
{
    /// <summary>Returns "sha256:" followed by 64 lowercase hex digits.</summary>
    public static string Compute(string versionDirectory)
    {
        var files = Directory.GetFiles(versionDirectory, "*", SearchOption.AllDirectories)
            .Select(f => (Full: f, Relative: Path.GetRelativePath(versionDirectory, f).Replace('\\', '/')))
            .OrderBy(f => f.Relative, StringComparer.Ordinal);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        var buffer = new byte[1 << 16];
        foreach (var (full, relative) in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(relative));
            hash.AppendData([0]);
            using var stream = File.OpenRead(full);
            BinaryPrimitives.WriteInt64LittleEndian(length, stream.Length);
            hash.AppendData(length);
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
        }

        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
