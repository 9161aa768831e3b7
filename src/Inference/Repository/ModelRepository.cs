using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Residency;
using ServingGateway.Inference.Runtime;

namespace ServingGateway.Inference.Repository;

/// <summary>
/// Repository: which models and versions exist and serve. The models of the repository folder (Triton's layout) and the versions each serves. Loads, reloads and
/// unloads swap a model's snapshot atomically: requests in flight finish on the versions they started on.
/// </summary>
internal sealed partial class ModelRepository : IDisposable
{
    private readonly ConcurrentDictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly InferenceOptions _options;
    private readonly ModelHostFactory _hosts;
    private readonly IgnoredFieldLog _ignoredFields;
    private readonly ILogger<ModelRepository> _logger;
    private volatile bool _initialLoadComplete;

    public ModelRepository(IOptions<InferenceOptions> options, ModelHostFactory hosts, ILogger<ModelRepository> logger)
    {
        _options = options.Value;
        _logger = logger;
        _hosts = hosts;
        Root = Path.GetFullPath(_options.ModelRepository);
        _ignoredFields = new IgnoredFieldLog(logger);
    }

    /// <summary>The repository folder, absolute.</summary>
    public string Root { get; }

    /// <summary>Native objects held by this repository's models.</summary>
    public RuntimeCounters Counters => _hosts.Counters;

    /// <summary>True once the models found at start-up have been loaded (or have failed to).</summary>
    public bool IsReady => _initialLoadComplete;

    /// <summary>Loads every model folder of the repository; a model that fails is reported and the others load.</summary>
    public async Task LoadAllAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Root))
        {
            Log.RepositoryMissing(_logger, Root);
        }
        else
        {
            foreach (var directory in Directory.GetDirectories(Root).Order(StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var name = Path.GetFileName(directory);
                if (name.StartsWith('.'))
                {
                    continue;
                }

                if (!IsValidName(name))
                {
                    Log.InvalidModelName(_logger, name);
                    continue;
                }

                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await Task.Run(() => LoadCore(name), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _gate.Release();
                }
            }
        }

        _initialLoadComplete = true;
        Log.RepositoryLoaded(_logger, Root, _models.Values.Count(m => m.Snapshot.Ready.Length > 0), _models.Count);
    }

    /// <summary>
    /// Loads or reloads <paramref name="name"/> from its folder: new and changed versions are loaded beside
    /// the ones serving, then swapped in; versions no longer selected are unloaded once drained.
    /// </summary>
    /// <exception cref="InferenceException">404 for a model with no folder; 400 when no version could be loaded.</exception>
    public async Task LoadAsync(string name, CancellationToken cancellationToken)
    {
        if (!IsValidName(name) || !Directory.Exists(Path.Combine(Root, name)))
        {
            throw InferenceException.NotFound($"unknown model '{name}': no folder of that name in the model repository");
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var snapshot = await Task.Run(() => LoadCore(name), cancellationToken).ConfigureAwait(false);
            if (snapshot.Ready.Length == 0)
            {
                var reasons = snapshot.ModelError
                    ?? string.Join("; ", snapshot.Versions.Select(v => $"version {v.Version}: {v.Reason}"));
                throw InferenceException.BadRequest($"failed to load '{name}': {reasons}");
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Unloads every version of <paramref name="name"/>; requests in flight finish first.</summary>
    /// <exception cref="InferenceException">404 for an unknown model.</exception>
    public async Task UnloadAsync(string name, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_models.TryGetValue(name, out var entry))
            {
                throw InferenceException.NotFound($"unknown model '{name}'");
            }

            var old = entry.Snapshot;
            entry.Snapshot = new ModelSnapshot(
                [],
                [.. old.Versions.Select(v => v with { State = ModelState.Unavailable, Reason = "unloaded" })],
                old.ModelError ?? (old.Versions.Length == 0 ? "unloaded" : null));
            foreach (var version in old.Ready)
            {
                version.Retire();
            }

            Log.ModelUnloaded(_logger, name);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Takes a reference on the version a request names (or the highest ready one), resident and ready to
    /// serve; the caller releases it. All versions are resident today, so this completes at once; a residency
    /// policy that loads on demand completes it when the version is loaded, without changing its callers.
    /// </summary>
    /// <exception cref="InferenceException">404 for an unknown model or a version that is not ready.</exception>
    public ValueTask<ModelHost> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        _ = cancellationToken; // nothing to wait for while every version is resident
        return ValueTask.FromResult(Acquire(name, version));
    }

    /// <summary>
    /// Takes a reference on the version a request names (or the highest ready one); the caller releases it.
    /// </summary>
    /// <exception cref="InferenceException">404 for an unknown model or a version that is not ready.</exception>
    public ModelHost Acquire(string name, string? version)
    {
        if (!_models.TryGetValue(name, out var entry))
        {
            throw InferenceException.NotFound($"unknown model '{name}'");
        }

        long? number = null;
        if (version is not null)
        {
            if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                throw InferenceException.NotFound($"model '{name}' has no version '{version}'; versions are numbers");
            }

            number = parsed;
        }

        // A version retired between reading the snapshot and taking the reference is no longer in the new
        // snapshot, so reading again finds its successor.
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var snapshot = entry.Snapshot;
            var candidate = number is { } n ? Array.Find(snapshot.Ready, v => v.Version == n) : snapshot.Ready.FirstOrDefault();
            if (candidate is null)
            {
                throw InferenceException.NotFound(DescribeUnavailable(name, number, snapshot));
            }

            if (candidate.TryAcquire())
            {
                return candidate;
            }
        }

        throw InferenceException.NotFound($"model '{name}' is being unloaded");
    }

    /// <summary>The ready versions of <paramref name="name"/>, highest first; null for an unknown model.</summary>
    public ModelHost[]? GetReady(string name) =>
        _models.TryGetValue(name, out var entry) ? entry.Snapshot.Ready : null;

    /// <summary>Triton's repository index: every model, and every version considered, with state and reason.</summary>
    public IReadOnlyList<RepositoryIndexEntry> GetIndex()
    {
        var rows = new List<RepositoryIndexEntry>();
        foreach (var entry in _models.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            var snapshot = entry.Snapshot;
            if (snapshot.Versions.Length == 0)
            {
                rows.Add(new RepositoryIndexEntry(entry.Name, null, StateName(ModelState.Unavailable), snapshot.ModelError ?? ""));
                continue;
            }

            foreach (var status in snapshot.Versions)
            {
                rows.Add(new RepositoryIndexEntry(
                    entry.Name, status.Version.ToString(CultureInfo.InvariantCulture), StateName(status.State), status.Reason));
            }
        }

        return rows;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var entry in _models.Values)
        {
            var snapshot = entry.Snapshot;
            entry.Snapshot = ModelSnapshot.Unavailable("server stopping");
            foreach (var version in snapshot.Ready)
            {
                version.Retire();
            }
        }

        _gate.Dispose();
    }

    /// <summary>Model names are folder names: letters, digits, '_', '-', '.', not starting with '.'.</summary>
    public static bool IsValidName(string name) => name.Length <= 128 && ValidName().IsMatch(name);

    /// <summary>The index spelling of a state.</summary>
    public static string StateName(ModelState state) => state switch
    {
        ModelState.Ready => "READY",
        ModelState.Loading => "LOADING",
        _ => "UNAVAILABLE",
    };

    private static string DescribeUnavailable(string name, long? version, ModelSnapshot snapshot)
    {
        if (version is { } v)
        {
            var status = Array.Find(snapshot.Versions, s => s.Version == v);
            return status.Reason is { Length: > 0 } reason
                ? $"model '{name}' version {v} is not available: {reason}"
                : $"model '{name}' has no version {v}";
        }

        var why = snapshot.ModelError
            ?? string.Join("; ", snapshot.Versions.Select(s => $"version {s.Version}: {s.Reason}"));
        return $"model '{name}' has no ready version{(why.Length > 0 ? ": " + why : "")}";
    }

    // Runs under _gate. Publishes and returns the model's new snapshot.
    private ModelSnapshot LoadCore(string name)
    {
        var directory = Path.Combine(Root, name);
        var entry = _models.GetOrAdd(name, n => new ModelEntry(n, ModelSnapshot.Unavailable("loading")));
        var old = entry.Snapshot;

        ModelConfig config;
        try
        {
            config = ModelConfigReader.Read(directory, _options, (field, line, column) => _ignoredFields.Report(name, field, line, column));
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            Log.ModelFailed(_logger, name, ex.Message);
            return Publish(entry, old, ModelSnapshot.Unavailable(ex.Message));
        }

        var onDisk = new List<long>();
        foreach (var sub in Directory.GetDirectories(directory))
        {
            var folder = Path.GetFileName(sub);
            if (IsVersionFolder(folder, out var number))
            {
                onDisk.Add(number);
            }
            else
            {
                Log.NotAVersion(_logger, name, folder);
            }
        }

        if (onDisk.Count == 0)
        {
            var reason = $"no version folders (numeric names such as 1/) in {directory}";
            Log.ModelFailed(_logger, name, reason);
            return Publish(entry, old, ModelSnapshot.Unavailable(reason));
        }

        var wanted = config.VersionPolicy.Select(onDisk);
        var loading = wanted.Select(v => new VersionStatus(v, ModelState.Loading, "")).ToArray();
        entry.Snapshot = old with { Versions = loading };

        var ready = new List<ModelHost>();
        var statuses = new List<VersionStatus>();
        foreach (var version in wanted)
        {
            var versionDirectory = Path.Combine(directory, version.ToString(CultureInfo.InvariantCulture));
            if (!onDisk.Contains(version))
            {
                statuses.Add(new VersionStatus(version, ModelState.Unavailable, $"version folder {version} not found ({config.VersionPolicy} policy)"));
                continue;
            }

            try
            {
                var digest = ModelDigest.Compute(versionDirectory);
                var kept = Array.Find(old.Ready, v => v.Version == version && v.Digest == digest && v.ConfigText == config.SourceText);
                var loaded = kept ?? _hosts.Create(name, version, versionDirectory, digest, config);
                loaded.ConfigText = config.SourceText;
                ready.Add(loaded);
                statuses.Add(new VersionStatus(version, ModelState.Ready, ""));
                if (kept is null)
                {
                    Log.VersionLoaded(_logger, name, version, loaded.ExecutionProvider, loaded.InstanceCount, loaded.Signature.MaxBatchSize, digest);
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                statuses.Add(new VersionStatus(version, ModelState.Unavailable, ex.Message));
                Log.VersionFailed(_logger, name, version, ex.Message);
            }
        }

        return Publish(entry, old, new ModelSnapshot([.. ready], [.. statuses], null));
    }

    private static ModelSnapshot Publish(ModelEntry entry, ModelSnapshot old, ModelSnapshot next)
    {
        entry.Snapshot = next;
        foreach (var version in old.Ready)
        {
            if (Array.IndexOf(next.Ready, version) < 0)
            {
                version.Retire();
            }
        }

        return next;
    }

    private static bool IsVersionFolder(string folder, out long version)
    {
        // Canonical numbers only: "01" and "1" would otherwise name the same version twice.
        version = 0;
        return folder.Length is > 0 and <= 18
            && (folder == "0" || folder[0] != '0')
            && long.TryParse(folder, NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.\\-]*$")]
    private static partial Regex ValidName();

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Information, "Loaded model {Model} version {Version} on {Provider} with {Instances} instance(s), max_batch_size {MaxBatchSize}, digest {Digest}")]
        public static partial void VersionLoaded(ILogger logger, string model, long version, string provider, int instances, int maxBatchSize, string digest);

        [LoggerMessage(21, LogLevel.Error, "Model {Model} version {Version} failed to load: {Reason}")]
        public static partial void VersionFailed(ILogger logger, string model, long version, string reason);

        [LoggerMessage(22, LogLevel.Error, "Model {Model} failed to load: {Reason}")]
        public static partial void ModelFailed(ILogger logger, string model, string reason);

        [LoggerMessage(23, LogLevel.Warning, "Model {Model}: ignoring folder '{Folder}', which is not a version number")]
        public static partial void NotAVersion(ILogger logger, string model, string folder);

        [LoggerMessage(24, LogLevel.Information, "Unloaded model {Model}")]
        public static partial void ModelUnloaded(ILogger logger, string model);

        [LoggerMessage(25, LogLevel.Error, "Model repository folder {Root} does not exist; serving no models")]
        public static partial void RepositoryMissing(ILogger logger, string root);

        [LoggerMessage(26, LogLevel.Warning, "Ignoring folder '{Folder}' of the model repository: model names use letters, digits, '_', '-' and '.'")]
        public static partial void InvalidModelName(ILogger logger, string folder);

        [LoggerMessage(27, LogLevel.Information, "Model repository {Root}: {Ready} of {Total} model(s) ready")]
        public static partial void RepositoryLoaded(ILogger logger, string root, int ready, int total);
    }
}
