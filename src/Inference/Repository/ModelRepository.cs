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
    private readonly ConcurrentDictionary<string, VersionPolicy> _overrides = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly InferenceOptions _options;
    private readonly ModelHostFactory _hosts;
    private readonly ModelResidency _residency;
    private readonly IgnoredFieldLog _ignoredFields;
    private readonly ILogger<ModelRepository> _logger;
    private volatile bool _initialLoadComplete;

    public ModelRepository(IOptions<InferenceOptions> options, ModelHostFactory hosts, ModelResidency residency, ILogger<ModelRepository> logger)
    {
        _options = options.Value;
        _logger = logger;
        _hosts = hosts;
        _residency = residency;
        Root = Path.GetFullPath(_options.ModelRepository);
        _ignoredFields = new IgnoredFieldLog(logger);
    }

    /// <summary>The repository folder, absolute.</summary>
    public string Root { get; }

    /// <summary>Native objects held by this repository's models.</summary>
    public RuntimeCounters Counters => _hosts.Counters;

    /// <summary>Which versions are resident, and the loads and evictions of multiplexing.</summary>
    public ModelResidency Residency => _residency;

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

            if (_residency.Limited)
            {
                // An explicit load counts against the same limits: the highest version is made resident now,
                // evicting as a request would (503 when nothing is idle); the others load on demand.
                var host = await _residency.LoadAndAcquireAsync(snapshot.Ready[0], cancellationToken).ConfigureAwait(false);
                host?.Release();
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Loads or reloads <paramref name="name"/> serving the versions <paramref name="policy"/> selects in place of its
    /// version_policy; the override stays for later reloads until another replaces it, an unload, or a call with null
    /// (back to the model's version_policy). Otherwise as <see cref="LoadAsync(string, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="InferenceException">404 for a model with no folder; 400 when no version could be loaded.</exception>
    public Task LoadAsync(string name, VersionPolicy? policy, CancellationToken cancellationToken)
    {
        if (!IsValidName(name) || !Directory.Exists(Path.Combine(Root, name)))
        {
            throw InferenceException.NotFound($"unknown model '{name}': no folder of that name in the model repository");
        }

        SetOverride(name, policy);
        return LoadAsync(name, cancellationToken);
    }

    /// <summary>
    /// Sets (or with null clears) the versions <paramref name="name"/> serves in place of its version_policy, without
    /// loading: the next load follows it (a restart sets it before the first load).
    /// </summary>
    public void SetOverride(string name, VersionPolicy? policy)
    {
        if (policy is null)
        {
            _overrides.TryRemove(name, out _);
        }
        else
        {
            _overrides[name] = policy;
        }
    }

    /// <summary>The override of <paramref name="name"/>'s version_policy; null when it follows its own.</summary>
    public VersionPolicy? GetOverride(string name) => _overrides.TryGetValue(name, out var policy) ? policy : null;

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

            _overrides.TryRemove(name, out _);
            var old = entry.Snapshot;
            entry.Snapshot = new ModelSnapshot(
                [],
                [.. old.Versions.Select(v => v with { State = ModelState.Unavailable, Reason = "unloaded" })],
                old.ModelError ?? (old.Versions.Length == 0 ? "unloaded" : null));
            foreach (var version in old.Ready)
            {
                _residency.Retire(version);
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
    /// serve; the caller releases it. Completes at once when the version is resident (always, with no residency
    /// limit); otherwise when the load it waits on (one per version, shared) has made it resident.
    /// </summary>
    /// <exception cref="InferenceException">404 for an unknown model or a version that is not ready; 503 with Retry-After when it cannot be made resident (see <see cref="ModelResidency"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the wait for a load (the load goes on).</exception>
    public ValueTask<ModelHost> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        var (entry, number) = Find(name, version);

        // A version retired between reading the snapshot and taking the reference is no longer in the new
        // snapshot, so reading again finds its successor.
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var slot = Select(entry, number);
            if (_residency.TryAcquire(slot, out var host))
            {
                return ValueTask.FromResult(host);
            }

            if (!slot.Retired)
            {
                return LoadAndAcquireAsync(entry, number, slot, cancellationToken);
            }
        }

        throw InferenceException.NotFound($"model '{name}' is being unloaded");
    }

    /// <summary>
    /// Takes a reference on the version a request names (or the highest ready one) when it is resident; the
    /// caller releases it. Never starts a load: for that, <see cref="AcquireAsync"/>.
    /// </summary>
    /// <exception cref="InferenceException">404 for an unknown model or a version that is not ready; 503 with Retry-After for one that is not resident.</exception>
    public ModelHost Acquire(string name, string? version)
    {
        var (entry, number) = Find(name, version);
        for (var attempt = 0; attempt < 16; attempt++)
        {
            var slot = Select(entry, number);
            if (_residency.TryAcquire(slot, out var host))
            {
                return host;
            }

            if (!slot.Retired)
            {
                throw new InferenceException(Microsoft.AspNetCore.Http.StatusCodes.Status503ServiceUnavailable,
                    $"model '{name}' version {slot.Version} is not resident; an infer request loads it")
                {
                    RetryAfter = ModelResidency.RetryAfter,
                };
            }
        }

        throw InferenceException.NotFound($"model '{name}' is being unloaded");
    }

    /// <summary>
    /// The version a request names (or the highest ready one), resident or not: its number and whether it
    /// serves, without taking a reference or loading it.
    /// </summary>
    /// <exception cref="InferenceException">404 for an unknown model or a version that is not ready.</exception>
    public ResidentSlot FindReady(string name, string? version)
    {
        var (entry, number) = Find(name, version);
        return Select(entry, number);
    }

    /// <summary>The resident versions of <paramref name="name"/>, highest first; null for an unknown model.</summary>
    public ModelHost[]? GetReady(string name) =>
        _models.TryGetValue(name, out var entry)
            ? [.. entry.Snapshot.Ready.Select(v => v.Host).Where(h => h is { IsResident: true })!]
            : null;

    /// <summary>Takes a reference on each resident version of <paramref name="name"/> into <paramref name="into"/> (the caller releases them); false for an unknown model.</summary>
    public bool AcquireReady(string name, List<ModelHost> into)
    {
        if (GetReady(name) is not { } versions)
        {
            return false;
        }

        foreach (var version in versions)
        {
            if (version.TryAcquire())
            {
                into.Add(version);
            }
        }

        return true;
    }

    /// <summary>Every ready version of <paramref name="name"/>, resident or not, highest first; null for an unknown model.</summary>
    public ResidentSlot[]? GetCataloged(string name) =>
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
                rows.Add(new RepositoryIndexEntry(entry.Name, null, StateName(ModelState.Unavailable), snapshot.ModelError ?? "", null));
                continue;
            }

            foreach (var status in snapshot.Versions)
            {
                var resident = Array.Find(snapshot.Ready, v => v.Version == status.Version) is { IsResident: true };
                rows.Add(new RepositoryIndexEntry(
                    entry.Name, status.Version.ToString(CultureInfo.InvariantCulture), StateName(status.State), status.Reason, resident));
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
                _residency.Retire(version);
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

    private (ModelEntry Entry, long? Number) Find(string name, string? version)
    {
        if (!_models.TryGetValue(name, out var entry))
        {
            throw InferenceException.NotFound($"unknown model '{name}'");
        }

        if (version is null)
        {
            return (entry, null);
        }

        if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            throw InferenceException.NotFound($"model '{name}' has no version '{version}'; versions are numbers");
        }

        return (entry, parsed);
    }

    private static ResidentSlot Select(ModelEntry entry, long? number)
    {
        var snapshot = entry.Snapshot;
        var slot = number is { } n ? Array.Find(snapshot.Ready, v => v.Version == n) : snapshot.Ready.FirstOrDefault();
        return slot ?? throw InferenceException.NotFound(DescribeUnavailable(entry.Name, number, snapshot));
    }

    private async ValueTask<ModelHost> LoadAndAcquireAsync(ModelEntry entry, long? number, ResidentSlot slot, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 16; attempt++)
        {
            if (await _residency.LoadAndAcquireAsync(slot, cancellationToken).ConfigureAwait(false) is { } host)
            {
                return host;
            }

            slot = Select(entry, number); // retired by a reload or an unload meanwhile: its successor, if any
        }

        throw InferenceException.NotFound($"model '{entry.Name}' is being unloaded");
    }

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

        var policy = GetOverride(name) ?? config.VersionPolicy;
        var wanted = policy.Select(onDisk);
        var loading = wanted.Select(v => new VersionStatus(v, ModelState.Loading, "")).ToArray();
        entry.Snapshot = old with { Versions = loading };

        var ready = new List<ResidentSlot>();
        var statuses = new List<VersionStatus>();
        foreach (var version in wanted)
        {
            var versionDirectory = Path.Combine(directory, version.ToString(CultureInfo.InvariantCulture));
            if (!onDisk.Contains(version))
            {
                statuses.Add(new VersionStatus(version, ModelState.Unavailable, $"version folder {version} not found ({policy} policy)"));
                continue;
            }

            try
            {
                var digest = ModelDigest.Compute(versionDirectory);
                var kept = Array.Find(old.Ready, v => v.Version == version && v.Digest == digest && v.ConfigText == config.SourceText);
                var slot = kept ?? Catalog(name, version, versionDirectory, digest, config);
                ready.Add(slot);
                statuses.Add(new VersionStatus(version, ModelState.Ready, ""));
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                statuses.Add(new VersionStatus(version, ModelState.Unavailable, ex.Message));
                Log.VersionFailed(_logger, name, version, ex.Message);
            }
        }

        return Publish(entry, old, new ModelSnapshot([.. ready], [.. statuses], null));
    }

    // A new version's slot, resident at once when it fits without evicting (always, with no limit). A version
    // that fails to load, or could never fit in Inference:MaxResidentMb, is not ready (the exception says why).
    private ResidentSlot Catalog(string name, long version, string versionDirectory, string digest, ModelConfig config)
    {
        var bytes = ModelHostFactory.EstimateBytes(versionDirectory, config);
        if (bytes > _residency.MaxBytes)
        {
            throw new InvalidDataException(
                $"needs an estimated {bytes / (1024 * 1024)} MiB resident, more than Inference:MaxResidentMb {_options.MaxResidentMb}");
        }

        var slot = new ResidentSlot(name, version, digest, config.SourceText, bytes,
            () => _hosts.Create(name, version, versionDirectory, digest, config));
        if (_residency.TryLoadNow(slot))
        {
            var loaded = slot.Host!;
            Log.VersionLoaded(_logger, name, version, loaded.ExecutionProvider, loaded.InstanceCount, loaded.Signature.MaxBatchSize, digest);
        }

        return slot;
    }

    private ModelSnapshot Publish(ModelEntry entry, ModelSnapshot old, ModelSnapshot next)
    {
        entry.Snapshot = next;
        foreach (var version in old.Ready)
        {
            if (Array.IndexOf(next.Ready, version) < 0)
            {
                _residency.Retire(version);
            }
        }

        return next;
    }

    /// <summary>Whether <paramref name="folder"/> names a version: a canonical number (no sign, no leading zero), at most 18 digits.</summary>
    internal static bool IsVersionFolder(string folder, out long version)
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
