using ServingGateway.Deployments.Shadow;
using System.Collections.Concurrent;

namespace ServingGateway.Deployments;

/// <summary>
/// The per-version readings a rollout's analysis reads (<see cref="IRolloutEvidence"/>): answers, 5xx answers and
/// latencies recorded by <see cref="DeploymentsMiddleware"/>, shadow runs and their divergence recorded by the shadow
/// mirror. A model's window is replaced whole at <see cref="StartWindow"/>, so a recording racing the switch lands in
/// one window or the other, never half in each. Memory: one histogram per version per model under a split.
/// </summary>
internal sealed class RolloutEvidence : IRolloutEvidence, IShadowResults
{
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    public void StartWindow(string model) => _windows[model] = new Window();

    public VersionEvidence Read(string model, long version) =>
        _windows.TryGetValue(model, out var window) && window.Versions.TryGetValue(version, out var readings)
            ? readings.Read()
            : VersionEvidence.None;

    /// <summary>An answer of <paramref name="model"/> <paramref name="version"/> with <paramref name="status"/>, after <paramref name="milliseconds"/>.</summary>
    public void RecordAnswer(string model, long version, int status, double milliseconds) =>
        ReadingsOf(model, version).Answer(status, milliseconds);

    /// <summary>A shadow run on <paramref name="version"/> compared with the caller's answer: its divergence (relative L2, +infinity when the outputs did not match in name, shape or type).</summary>
    public void RecordShadow(string model, long version, double milliseconds, double divergence) =>
        ReadingsOf(model, version).Shadow(milliseconds, divergence);

    /// <summary>A shadow run on <paramref name="version"/> that failed (an error answer or no answer).</summary>
    public void RecordShadowError(string model, long version, double milliseconds) =>
        ReadingsOf(model, version).Answer(500, milliseconds);

    private Readings ReadingsOf(string model, long version) =>
        _windows.GetOrAdd(model, static _ => new Window()).Versions.GetOrAdd(version, static _ => new Readings());

    private sealed class Window
    {
        public ConcurrentDictionary<long, Readings> Versions { get; } = new();
    }

    private sealed class Readings
    {
        private readonly LatencyHistogram _latency = new();
        private readonly Lock _divergence = new();
        private long _requests;
        private long _errors;
        private long _compared;
        private double _maxDivergence = double.NaN;

        public void Answer(int status, double milliseconds)
        {
            Interlocked.Increment(ref _requests);
            if (status >= 500)
            {
                Interlocked.Increment(ref _errors);
            }

            _latency.Record(milliseconds);
        }

        public void Shadow(double milliseconds, double divergence)
        {
            Answer(200, milliseconds);
            lock (_divergence)
            {
                _compared++;
                _maxDivergence = double.IsNaN(_maxDivergence) ? divergence : Math.Max(_maxDivergence, divergence);
            }
        }

        public VersionEvidence Read()
        {
            long compared;
            double maxDivergence;
            lock (_divergence)
            {
                (compared, maxDivergence) = (_compared, _maxDivergence);
            }

            return new VersionEvidence(
                Volatile.Read(ref _requests), Volatile.Read(ref _errors), _latency.Quantile(0.5), _latency.Quantile(0.99), compared, maxDivergence);
        }
    }
}
