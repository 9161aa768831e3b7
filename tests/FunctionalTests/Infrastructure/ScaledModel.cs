using ServingGateway.TestSupport;

namespace ServingGateway.FunctionalTests.Infrastructure;

/// <summary>Model <c>scaled</c> (tests/Assets/shadow): version 2 computes y = 2x and version 3 y = 3x, so their outputs differ by exactly 0.5 in relative L2.</summary>
internal static class ScaledModel
{
    public const string Name = "scaled";

    /// <summary>Copies both versions into <paramref name="models"/> with <paramref name="config"/> as the model's config.json.</summary>
    public static void AddTo(TempModelRepository models, string config)
    {
        foreach (var version in new[] { "2", "3" })
        {
            var folder = Path.Combine(models.Path, Name, version);
            Directory.CreateDirectory(folder);
            File.Copy(Path.Combine(RepoPaths.Root, "tests", "Assets", "shadow", Name, version, "model.onnx"), Path.Combine(folder, "model.onnx"));
        }

        models.WriteConfig(Name, config);
    }
}
