using System.Collections.Concurrent;
using ServingGateway.Deployments;

namespace ServingGateway.Gateway.Tests.Deployments.Rollouts;

/// <summary>Splits kept in a dictionary, as the request path would read them.</summary>
internal sealed class FakeTrafficSplits : ITrafficSplits
{
    private readonly ConcurrentDictionary<string, TrafficSplit> _splits = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, TrafficSplit> All => _splits;

    public TrafficSplit? Get(string model) => _splits.TryGetValue(model, out var split) ? split : null;

    public void Set(string model, TrafficSplit split) => _splits[model] = split;

    public void Remove(string model) => _splits.TryRemove(model, out _);
}

/// <summary>Readings the test sets per version; a new window clears them.</summary>
internal sealed class FakeRolloutEvidence : IRolloutEvidence
{
    private readonly ConcurrentDictionary<(string, long), VersionEvidence> _readings = new();

    public int Windows { get; private set; }

    public void Set(string model, long version, VersionEvidence evidence) => _readings[(model, version)] = evidence;

    public void StartWindow(string model)
    {
        Windows++;
        foreach (var key in _readings.Keys.Where(k => k.Item1 == model))
        {
            _readings.TryRemove(key, out _);
        }
    }

    public VersionEvidence Read(string model, long version) =>
        _readings.TryGetValue((model, version), out var evidence) ? evidence : VersionEvidence.None;
}

/// <summary>A fleet whose loads complete when the test says (or at once), recording what it was told to serve.</summary>
internal sealed class FakeVersionFleet : IVersionFleet
{
    private readonly ConcurrentQueue<TaskCompletionSource> _pending = new();

    public ConcurrentQueue<long[]> Served { get; } = new();

    public long[] OnDisk { get; set; } = [2, 1];

    public long[] ReadyVersions { get; set; } = [1];

    public bool Manual { get; set; }

    public Task ServeAsync(string model, IReadOnlyList<long> versions, CancellationToken cancellationToken)
    {
        Served.Enqueue([.. versions]);
        if (!Manual)
        {
            return Task.CompletedTask;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending.Enqueue(done);
        return done.Task;
    }

    /// <summary>Completes the oldest pending serve, with <paramref name="error"/> as its failure when given.</summary>
    public void Complete(string? error = null)
    {
        Assert.True(_pending.TryDequeue(out var done));
        if (error is null)
        {
            done.SetResult();
        }
        else
        {
            done.SetException(new InvalidOperationException(error));
        }
    }

    public Task<IReadOnlyList<long>> ReadyAsync(string model, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<long>>(model == "mlp" ? ReadyVersions : []);

    /// <summary>The versions on disk: <see cref="OnDisk"/> for mlp, none for any other model.</summary>
    public IReadOnlyList<long> Stored(string model) => model == "mlp" ? OnDisk : [];
}
