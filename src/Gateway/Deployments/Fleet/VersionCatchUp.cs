using System.Globalization;
using System.Net.Http.Headers;

namespace ServingGateway.Deployments.Fleet;

/// <summary>
/// An edge's catch-up of its nodes' version folders, from the others (issue 13 item 1): it reads every node's
/// <c>GET /admin/models</c>, compares them (<see cref="FleetVersions"/>) and copies each version a node lacks from a
/// node that has it: <c>GET .../versions/{v}/archive</c> on the source streamed into <c>PUT .../versions/{v}</c> on the
/// target, which checks it as any upload (digest, signature, atomic store). A version stored with different digests
/// is never copied. It runs when a node that is behind is available to the edge (an upload through the edge failed on
/// it, added after the edge started, or healthy again after it was not; looked at every second), before a rollout serves versions (<see cref="EdgeVersionFleet.ServeAsync"/>), and its last reading
/// answers <see cref="EdgeVersionFleet.Stored"/>. One pass at a time.
/// </summary>
internal sealed partial class VersionCatchUp : BackgroundService
{
    /// <summary>How often the edge looks for nodes that became available.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long before a node that did not answer its listing in a pass is tried again.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long one copy may take (the target receives, checks and stores it).</summary>
    public static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(10);

    private readonly NodeFanOut _nodes;
    private readonly TimeProvider _time;
    private readonly ILogger<VersionCatchUp> _logger;
    private readonly SemaphoreSlim _pass = new(1, 1);
    private readonly HashSet<string> _synced = new(StringComparer.Ordinal);
    private FleetVersions? _latest;

    public VersionCatchUp(NodeFanOut nodes, TimeProvider time, ILogger<VersionCatchUp> logger)
    {
        _nodes = nodes;
        _time = time;
        _logger = logger;
    }

    /// <summary>The last reading of every node that answered, or null when there is none or it is stale (an upload since).</summary>
    public FleetVersions? Latest => Volatile.Read(ref _latest);

    /// <summary>Drops the last reading: something was stored since (an upload through the edge).</summary>
    public void Forget() => Volatile.Write(ref _latest, null);

    /// <summary>Reads every node's listing; those that did not answer, with why, under Unreachable.</summary>
    public async Task<(FleetVersions Fleet, IReadOnlyList<(string Node, string Error)> Unreachable)> ListAsync(CancellationToken cancellationToken)
    {
        var calls = await _nodes.SendAsync(HttpMethod.Get, "/admin/models", ReadOnlyMemory<byte>.Empty, null, cancellationToken).ConfigureAwait(false);
        var listings = new List<NodeListing>();
        var unreachable = new List<(string, string)>();
        foreach (var call in calls)
        {
            if (call.Status != StatusCodes.Status200OK)
            {
                unreachable.Add((call.Node, call.Describe()));
                continue;
            }

            try
            {
                listings.Add(NodeListing.Parse(call.Node, call.Body));
            }
            catch (FormatException ex)
            {
                unreachable.Add((call.Node, ex.Message));
            }
        }

        var fleet = new FleetVersions(listings);
        Volatile.Write(ref _latest, fleet);
        return (fleet, unreachable);
    }

    /// <summary>
    /// Copies what nodes lack of <paramref name="model"/> (null: every model), only <paramref name="versions"/> when
    /// given; returns the nodes' stores after it and each copy that failed, with why.
    /// </summary>
    public async Task<CatchUpResult> CatchUpAsync(string? model, IReadOnlyCollection<long>? versions, CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (fleet, unreachable) = await ListAsync(cancellationToken).ConfigureAwait(false);
            var copies = fleet.Copies(model, versions);
            if (copies.Count == 0)
            {
                return new CatchUpResult(fleet, unreachable, []);
            }

            var failures = new List<string>();
            foreach (var copy in copies)
            {
                if (await CopyAsync(copy, cancellationToken).ConfigureAwait(false) is { } failure)
                {
                    failures.Add(failure);
                    Log.CopyFailed(_logger, copy.Model, copy.Version, copy.Source, copy.Target, failure);
                }
                else
                {
                    Log.Copied(_logger, copy.Model, copy.Version, copy.Digest, copy.Source, copy.Target);
                }
            }

            (fleet, unreachable) = await ListAsync(cancellationToken).ConfigureAwait(false);
            return new CatchUpResult(fleet, unreachable, failures);
        }
        finally
        {
            _pass.Release();
        }
    }

    /// <summary>Copies one version folder; null when the target stored it with the source's digest, else why not.</summary>
    internal async Task<string?> CopyAsync(VersionCopy copy, CancellationToken cancellationToken)
    {
        var path = string.Create(CultureInfo.InvariantCulture, $"/admin/models/{Uri.EscapeDataString(copy.Model)}/versions/{copy.Version}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CopyTimeout);
        var what = string.Create(CultureInfo.InvariantCulture, $"copying model '{copy.Model}' version {copy.Version} from {copy.Source} to {copy.Target}");
        try
        {
            using var get = new HttpRequestMessage(HttpMethod.Get, copy.Source + path + "/archive") { Version = System.Net.HttpVersion.Version11 };
            using var archive = await _nodes.SendToNodeAsync(get, timeout.Token).ConfigureAwait(false);
            if (!archive.IsSuccessStatusCode)
            {
                var text = await archive.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                return $"{what}: the source answered {new NodeCall(copy.Source, (int)archive.StatusCode, text).Describe()}";
            }

            var body = new StreamContent(await archive.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false));
            body.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
            using var put = new HttpRequestMessage(HttpMethod.Put, copy.Target + path) { Version = System.Net.HttpVersion.Version11, Content = body };
            using var stored = await _nodes.SendToNodeAsync(put, timeout.Token).ConfigureAwait(false);
            var target = new NodeCall(copy.Target, (int)stored.StatusCode, await stored.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false));
            if (!stored.IsSuccessStatusCode)
            {
                return $"{what}: the target answered {target.Describe()}";
            }

            var digest = target.UploadAnswer()?.Digest;
            return digest == copy.Digest ? null : $"{what}: the target stored digest {digest ?? "(none in its answer)"}, the source holds {copy.Digest}";
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return $"{what}: {(ex is OperationCanceledException ? $"not done within {CopyTimeout.TotalMinutes:0} minutes" : ex.Message)}";
        }
    }

    /// <summary>
    /// Marks <paramref name="nodes"/> as behind (an upload through the edge failed on them): the next look that finds
    /// them available starts a pass, repeated every <see cref="RetryInterval"/> until they answer their listing.
    /// </summary>
    public void Missed(IEnumerable<string> nodes)
    {
        lock (_synced)
        {
            _synced.ExceptWith(nodes);
        }
    }

    /// <summary>
    /// Every <see cref="PollInterval"/>: a node available now that is not caught up (it left and came back, was
    /// added, or missed an upload) starts a pass over every model; one that did not answer its listing is tried again
    /// after <see cref="RetryInterval"/>. A node that answered is caught up whatever its copies did (logged): it is not
    /// asked again every second, but when it comes back after leaving, misses another upload, and before each load.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, _time);
        var seeded = false;
        var nextTry = DateTimeOffset.MinValue;
        do
        {
            // The nodes known when the edge first sees any are taken as they are (no pass at every edge's start:
            // a rollout's load catches up what it needs); one that is down then catches up when it comes up.
            if (!seeded)
            {
                var known = _nodes.Nodes();
                lock (_synced)
                {
                    _synced.UnionWith(known);
                }

                seeded = known.Count > 0;
                continue;
            }

            var available = _nodes.AvailableNodes();
            List<string> behind;
            lock (_synced)
            {
                _synced.IntersectWith(available);
                behind = [.. available.Where(n => !_synced.Contains(n))];
            }

            if (behind.Count == 0 || _time.GetUtcNow() < nextTry)
            {
                continue;
            }

            try
            {
                var result = await CatchUpAsync(null, null, stoppingToken).ConfigureAwait(false);
                lock (_synced)
                {
                    _synced.UnionWith(behind.Intersect(result.Fleet.Nodes));
                }

                nextTry = behind.All(result.Fleet.Nodes.Contains) ? DateTimeOffset.MinValue : _time.GetUtcNow() + RetryInterval;
                foreach (var (node, error) in result.Unreachable)
                {
                    Log.NotListed(_logger, node, error);
                }

                foreach (var conflict in result.Conflicts())
                {
                    Log.Conflict(_logger, conflict);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                nextTry = _time.GetUtcNow() + RetryInterval;
                Log.PassFailed(_logger, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    public override void Dispose()
    {
        _pass.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Information, "Caught up model {Model} version {Version} ({Digest}) from {Source} to {Target}")]
        public static partial void Copied(ILogger logger, string model, long version, string digest, string source, string target);

        [LoggerMessage(201, LogLevel.Warning, "Catch-up of model {Model} version {Version} from {Source} to {Target} failed: {Reason}")]
        public static partial void CopyFailed(ILogger logger, string model, long version, string source, string target, string reason);

        [LoggerMessage(202, LogLevel.Error, "Catch-up: {Conflict}")]
        public static partial void Conflict(ILogger logger, string conflict);

        [LoggerMessage(203, LogLevel.Warning, "Catch-up pass failed: {Reason}")]
        public static partial void PassFailed(ILogger logger, string reason);

        [LoggerMessage(205, LogLevel.Warning, "Catch-up: node {Node} did not list its versions: {Reason}")]
        public static partial void NotListed(ILogger logger, string node, string reason);
    }
}
