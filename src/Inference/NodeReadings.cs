using ServingGateway.Inference.Repository;
using ServingGateway.Inference.Residency;

namespace ServingGateway.Inference;

/// <summary>
/// The node's figures for readers outside this assembly (the status page): every row of the repository index with
/// the counters its resident version keeps (Triton statistics, latency buckets, batcher queue, drift). Reads what the
/// node already counts; measures nothing itself. Thread-safe.
/// </summary>
public sealed class NodeReadings
{
    private readonly ModelRepository _repository;

    internal NodeReadings(ModelRepository repository)
    {
        _repository = repository;
    }

    /// <summary>Every model version in the repository index, in its order (by model name, then version).</summary>
    public IReadOnlyList<VersionReading> Read()
    {
        var rows = new List<VersionReading>();
        var hosts = new List<ModelHost>();
        foreach (var row in _repository.GetIndex())
        {
            var empty = new VersionReading(row.Name, row.Version, row.State, row.Reason, false, 0, 0, 0, 0, 0, null, null, []);
            if (row.Version is null || row.Resident != true)
            {
                rows.Add(empty);
                continue;
            }

            hosts.Clear();
            _repository.AcquireReady(row.Name, hosts);
            try
            {
                var host = hosts.Find(h => h.VersionText == row.Version);
                rows.Add(host is null ? empty : ReadResident(host, row));
            }
            finally
            {
                foreach (var host in hosts)
                {
                    host.Release();
                }
            }
        }

        return rows;
    }

    private static VersionReading ReadResident(ModelHost host, RepositoryIndexEntry row)
    {
        var statistics = host.Statistics;
        double? psi = null;
        if (host.Drift is { } drift)
        {
            foreach (var value in drift.InputPsi().Values)
            {
                if (!double.IsNaN(value) && (psi is null || value > psi))
                {
                    psi = value;
                }
            }
        }

        return new VersionReading(
            row.Name, row.Version, row.State, row.Reason, true,
            statistics.Success.Count, statistics.Fail.Count, statistics.CacheHit.Count, statistics.CacheMiss.Count,
            host.QueuedRows, psi, host.Drift?.Settings.Threshold, statistics.CopyLatency());
    }
}
