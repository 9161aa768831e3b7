namespace ServingGateway.TestSupport;

/// <summary>Paths inside the repository checkout, found from the test assembly's folder.</summary>
internal static class RepoPaths
{
    /// <summary>The checkout's root: the folder holding ServingGateway.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The committed test model repository (tests/Assets/models).</summary>
    public static string TestModels => Path.Combine(Root, "tests", "Assets", "models");

    /// <summary>The example model repository (models/): mlp committed, the real models fetched by models/fetch.sh.</summary>
    public static string ExampleModels => Path.Combine(Root, "models");

    /// <summary>The model file of a version in the example repository.</summary>
    public static string ExampleModel(string name, int version = 1) => Path.Combine(ExampleModels, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture), "model.onnx");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ServingGateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("ServingGateway.sln not found above " + AppContext.BaseDirectory);
    }
}
