using System.Globalization;
using ServingGateway.Inference.Catalog;
using ServingGateway.Inference.Protocol;
using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Serving;

namespace ServingGateway.Inference;

/// <summary>
/// Which versions of a model this process serves, for readers and writers outside this assembly (the rollouts of
/// the standalone role): the versions on disk and ready, and serving exactly a given set in place of the model's
/// version_policy (<see cref="ModelRepository.LoadAsync(string, VersionPolicy?, CancellationToken)"/>). Thread-safe.
/// </summary>
public sealed class ModelVersions
{
    private readonly ModelRepository _repository;

    internal ModelVersions(ModelRepository repository)
    {
        _repository = repository;
    }

    /// <summary>
    /// Serves exactly <paramref name="versions"/> of <paramref name="model"/> (until changed or the model is unloaded),
    /// each loaded, resident and its request path warmed before this completes; versions no longer named drain and
    /// are unloaded.
    /// </summary>
    /// <exception cref="InferenceException">404 for an unknown model; 400 when a named version could not be loaded (with its reason).</exception>
    public async Task ServeAsync(string model, IReadOnlyList<long> versions, CancellationToken cancellationToken)
    {
        if (versions.Count == 0)
        {
            throw InferenceException.BadRequest("name at least one version to serve");
        }

        await _repository.LoadAsync(model, VersionPolicy.Of([.. versions]), cancellationToken).ConfigureAwait(false);
        var failed = _repository.GetIndex()
            .Where(r => r.Name == model && r.Version is not null && r.State != "READY"
                && versions.Contains(long.Parse(r.Version, CultureInfo.InvariantCulture)))
            .Select(r => $"version {r.Version}: {r.Reason}")
            .ToList();
        if (failed.Count > 0)
        {
            throw InferenceException.BadRequest($"failed to load '{model}': {string.Join("; ", failed)}");
        }

        foreach (var version in versions)
        {
            // Resident (a limited residency loads it now, as a request would) and its request path compiled.
            var host = await _repository.AcquireAsync(model, version.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
            try
            {
                for (var i = 0; i < RequestPathWarmUp.CallsPerRound; i++)
                {
                    RequestPathWarmUp.RunOnce(host);
                }
            }
            finally
            {
                host.Release();
            }
        }
    }

    /// <summary>The versions of <paramref name="model"/> ready to serve, highest first; empty for an unknown model.</summary>
    public IReadOnlyList<long> Ready(string model) =>
        _repository.GetCataloged(model)?.Select(v => v.Version).ToArray() ?? [];

    /// <summary>The version folders of <paramref name="model"/> on disk, highest first; empty for an unknown model.</summary>
    public IReadOnlyList<long> OnDisk(string model)
    {
        var directory = Path.Combine(_repository.Root, model);
        if (!ModelRepository.IsValidName(model) || !Directory.Exists(directory))
        {
            return [];
        }

        var versions = new List<long>();
        foreach (var sub in Directory.GetDirectories(directory))
        {
            if (ModelRepository.IsVersionFolder(Path.GetFileName(sub), out var number))
            {
                versions.Add(number);
            }
        }

        return [.. versions.OrderDescending()];
    }

    /// <summary>
    /// Makes <paramref name="model"/> serve <paramref name="versions"/> from its next load on, without loading now:
    /// set at start-up, before the repository's first load, by a deployment that was running when the process stopped.
    /// </summary>
    public void ServeFromNextLoad(string model, IReadOnlyList<long> versions) =>
        _repository.SetOverride(model, VersionPolicy.Of([.. versions]));

    /// <summary>The model repository folder, absolute.</summary>
    public string Root => _repository.Root;
}
