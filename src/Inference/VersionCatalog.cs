using System.Globalization;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference;

/// <summary>
/// The model repository's versions on disk for readers outside this assembly (version uploads, issue 13): the
/// repository's own rules for names, version folders and digests, the check a new version passes before it is
/// stored, and every version on disk with the state the repository gives it. Reads and checks; never loads,
/// unloads or writes anything. Thread-safe.
/// </summary>
public sealed class VersionCatalog
{
    /// <summary>The model file of a version folder.</summary>
    public const string ModelFileName = ModelHostFactory.ModelFileName;

    /// <summary>The state of a version on disk that the repository has not considered.</summary>
    public const string NotLoaded = "NOT_LOADED";

    private readonly ModelRepository _repository;
    private readonly ModelHostFactory _hosts;
    private readonly InferenceOptions _options;

    internal VersionCatalog(ModelRepository repository, ModelHostFactory hosts, InferenceOptions options)
    {
        _repository = repository;
        _hosts = hosts;
        _options = options;
    }

    /// <summary>The repository folder, absolute.</summary>
    public string Root => _repository.Root;

    /// <summary>The model config files a model folder may hold (config.json over config.pbtxt).</summary>
    public static IReadOnlyList<string> ConfigFileNames { get; } = [ModelConfigReader.FileName, TritonConfigReader.FileName];

    /// <summary>Whether <paramref name="name"/> is a model name the repository serves (its folder rule).</summary>
    public static bool IsValidModelName(string name) => ModelRepository.IsValidName(name);

    /// <summary>Whether <paramref name="text"/> is a version folder name (a canonical number: no sign, no leading zero).</summary>
    public static bool TryParseVersion(string text, out long version) => ModelRepository.IsVersionFolder(text, out version);

    /// <summary>The digest the repository gives the version folder <paramref name="versionDirectory"/>.</summary>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static string ComputeDigest(string versionDirectory) => ModelDigest.Compute(versionDirectory);

    /// <summary>
    /// Checks a version before it is stored: ONNX Runtime must load <paramref name="versionDirectory"/>'s model file
    /// on CPU under the model config found in <paramref name="configDirectory"/> (none: the node's defaults), and its
    /// signature must be compatible (<see cref="SignatureCompatibility"/>) with every version of
    /// <paramref name="model"/> the repository serves now. The session is disposed before this returns.
    /// </summary>
    /// <returns>Null when the version may be stored; otherwise why not.</returns>
    public string? Check(string model, string versionDirectory, string configDirectory)
    {
        ModelConfig config;
        try
        {
            config = ModelConfigReader.Read(configDirectory, _options);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            return $"the model's config is not valid: {ex.Message}";
        }

        ModelSignature candidate;
        try
        {
            candidate = _hosts.ReadSignature(versionDirectory, config);
        }
        catch (InvalidDataException ex)
        {
            return $"ONNX Runtime cannot load the version: {ex.Message}";
        }

        foreach (var slot in _repository.GetCataloged(model) ?? [])
        {
            ModelSignature serving;
            try
            {
                serving = slot.Host?.Signature
                    ?? _hosts.ReadSignature(Path.Combine(Root, model, slot.VersionText), ModelConfigReader.Read(Path.Combine(Root, model), _options));
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException)
            {
                return $"the signature of serving version {slot.VersionText} cannot be read to compare: {ex.Message}";
            }

            if (SignatureCompatibility.Differences(serving, candidate) is { Count: > 0 } differences)
            {
                return $"the signature is not compatible with serving version {slot.VersionText}: {string.Join("; ", differences)}";
            }
        }

        return null;
    }

    /// <summary>Every model folder of the repository (by name) with every version folder on disk, its digest and state.</summary>
    public IReadOnlyList<CatalogedModel> List()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }

        var index = _repository.GetIndex();
        var models = new List<CatalogedModel>();
        foreach (var directory in Directory.GetDirectories(Root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(directory);
            if (name.StartsWith('.') || !IsValidModelName(name))
            {
                continue;
            }

            var rows = index.Where(r => r.Name == name).ToList();
            var cataloged = _repository.GetCataloged(name) ?? [];
            var versions = new List<CatalogedVersion>();
            foreach (var folder in Directory.GetDirectories(directory))
            {
                if (!TryParseVersion(Path.GetFileName(folder), out var number))
                {
                    continue;
                }

                var text = number.ToString(CultureInfo.InvariantCulture);
                var digest = Array.Find(cataloged, s => s.Version == number)?.Digest ?? TryDigest(folder);
                versions.Add(rows.Find(r => r.Version == text) is { Version: not null } row
                    ? new CatalogedVersion(number, digest, row.State, row.Reason, row.Resident == true)
                    : new CatalogedVersion(number, digest, NotLoaded,
                        rows.Count == 0 ? "the model has not been loaded" : "not loaded: not selected by the version_policy, or stored since the model's last load", false));
            }

            var reason = rows.Count == 0 ? "the model has not been loaded" : rows.Find(r => r.Version is null).Reason ?? "";
            models.Add(new CatalogedModel(name, reason, [.. versions.OrderBy(v => v.Version)]));
        }

        return models;
    }

    private static string? TryDigest(string versionDirectory)
    {
        try
        {
            return ComputeDigest(versionDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
