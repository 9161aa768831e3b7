using System.Text.RegularExpressions;
using ServingGateway.TestSupport;

namespace ServingGateway.Inference.Tests.Architecture;

/// <summary>
/// docs/ARCHITECTURE.md's rule, checked on the sources: each folder of src/Inference (its namespace) refers only
/// to folders of lower layers, through a <c>using</c> or a qualified name; nothing below calls up, and folders of
/// one layer do not use each other. The root namespace (options and wiring) is the composition and may use all.
/// </summary>
public sealed partial class LayeringTests
{
    // Top to bottom, as docs/ARCHITECTURE.md draws them; a folder may use only folders of a later row.
    private static readonly string[][] Layers =
    [
        ["Grpc"],
        ["Http"],
        ["Serving"],
        ["Repository"],
        ["Residency"],
        ["Runtime", "Catalog"],
        ["Caching", "Drift"],
        ["Protocol"],
        ["Metrics", "Tensors", "Buffers", "Common"],
    ];

    private static readonly string Source = Path.Combine(RepoPaths.Root, "src", "Inference");

    [Fact]
    public void Folders_EachHasALayer()
    {
        var folders = Directory.GetDirectories(Source)
            .Select(Path.GetFileName)
            .Where(f => f is not ("bin" or "obj"))
            .Where(f => Directory.EnumerateFiles(Path.Combine(Source, f!), "*.cs", SearchOption.AllDirectories).Any());

        var unplaced = folders.Where(f => LayerOf(f!) < 0).ToList();

        Assert.True(unplaced.Count == 0, $"folders with no layer (add them to docs/ARCHITECTURE.md and to this test): {string.Join(", ", unplaced)}");
    }

    [Fact]
    public void Sources_ReferOnlyToLowerLayers()
    {
        var violations = Violations(Source).ToList();

        Assert.True(violations.Count == 0, "references that do not point down:" + Environment.NewLine + string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Violations_UpwardUsing_Reported()
    {
        // The check itself, on a tree with one upward reference: the cache using the pipeline.
        var root = Directory.CreateTempSubdirectory("layering-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "Caching"));
            File.WriteAllText(Path.Combine(root, "Caching", "Up.cs"), "using ServingGateway.Inference.Serving;\nnamespace ServingGateway.Inference.Caching;\n");
            Directory.CreateDirectory(Path.Combine(root, "Serving"));
            File.WriteAllText(Path.Combine(root, "Serving", "Down.cs"), "using ServingGateway.Inference.Caching;\nnamespace ServingGateway.Inference.Serving;\n");

            var violations = Violations(root).ToList();

            Assert.Equal(["Caching/Up.cs: Caching (layer 7) uses Serving (layer 3)"], violations);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static IEnumerable<string> Violations(string source)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(source, file).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal) || !relative.Contains('/'))
            {
                continue;
            }

            var folder = relative[..relative.IndexOf('/')];
            var layer = LayerOf(folder);
            var used = Reference().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value).Where(u => u != folder).Distinct();
            foreach (var target in used.Order(StringComparer.Ordinal))
            {
                var targetLayer = LayerOf(target);
                if (targetLayer >= 0 && targetLayer <= layer)
                {
                    yield return $"{relative}: {folder} (layer {layer + 1}) uses {target} (layer {targetLayer + 1})";
                }
            }
        }
    }

    private static int LayerOf(string folder) => Array.FindIndex(Layers, row => row.Contains(folder));

    // A using or a qualified name of a folder's namespace; not the file's own namespace line.
    [GeneratedRegex(@"(?<!namespace )ServingGateway\.Inference\.(\w+)")]
    private static partial Regex Reference();
}
