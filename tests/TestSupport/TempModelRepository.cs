namespace ServingGateway.TestSupport;

/// <summary>A throw-away model repository folder built from the committed test models; deleted on dispose.</summary>
internal sealed class TempModelRepository : IDisposable
{
    public TempModelRepository(params string[] models)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sg-models-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
        foreach (var model in models)
        {
            CopyDirectory(System.IO.Path.Combine(RepoPaths.TestModels, model), System.IO.Path.Combine(Path, model));
        }
    }

    /// <summary>The repository folder.</summary>
    public string Path { get; }

    /// <summary>Copies version <paramref name="fromVersion"/> of test model <paramref name="fromModel"/> in as version <paramref name="version"/> of <paramref name="model"/>.</summary>
    public void AddVersion(string model, int version, string fromModel, int fromVersion)
    {
        var source = System.IO.Path.Combine(RepoPaths.TestModels, fromModel, fromVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        CopyDirectory(source, System.IO.Path.Combine(Path, model, version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Writes <c>config.json</c> of <paramref name="model"/>.</summary>
    public void WriteConfig(string model, string json)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(Path, model));
        File.WriteAllText(System.IO.Path.Combine(Path, model, "config.json"), json);
    }

    /// <summary>Writes <paramref name="fileName"/> (config.pbtxt, say) into the folder of <paramref name="model"/>.</summary>
    public void WriteFile(string model, string fileName, string text)
    {
        Directory.CreateDirectory(System.IO.Path.Combine(Path, model));
        File.WriteAllText(System.IO.Path.Combine(Path, model, fileName), text);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a file still open on a slow shutdown leaves a folder in /tmp, nothing worse.
        }
    }

    private static void CopyDirectory(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, System.IO.Path.Combine(destination, System.IO.Path.GetFileName(file)));
        }

        foreach (var directory in Directory.GetDirectories(source))
        {
            CopyDirectory(directory, System.IO.Path.Combine(destination, System.IO.Path.GetFileName(directory)));
        }
    }
}
