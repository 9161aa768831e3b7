namespace ServingGateway.Batching;

/// <summary>
/// Deadline policy: the share of a request's deadline that the work queued ahead of it may take when it is
/// admitted, learned from the answers (additive increase, multiplicative decrease). It starts at 1 (the rule as
/// written: refused when the work ahead cannot finish by the deadline). Each window of <see cref="Window"/>
/// answers with a target: when more than <see cref="LateTolerance"/> of them finished past their target (the SLO,
/// or the request's timeout), the share shrinks by <see cref="Decrease"/>; when none too many were late and
/// requests were refused by deadline in that window (the share was what limited admission), it grows by
/// <see cref="Increase"/>, up to 1.
/// </summary>
/// <remarks>
/// Why: past capacity, a queue that admits up to the deadline stays full up to it, so every answer arrives near the
/// deadline, after the SLO: the estimate is right and goodput is still nil (benchmarks/overload/run.sh saw goodput 0
/// at 2 x capacity, 2xx p50 178 ms for a deadline of 100 ms). The estimate also leaves out what the machine spends
/// outside the model under load. The answers say both: the share settles where 99% of them meet their target.
/// Thread-safe: answers are recorded from the instances' threads, refusals and reads from any thread.
/// </remarks>
internal sealed class AdmissionShare
{
    /// <summary>Answers per decision.</summary>
    public const int Window = 100;

    /// <summary>The late answers a window tolerates before the share shrinks: 1%.</summary>
    public const int LateTolerance = Window / 100;

    /// <summary>What the share is multiplied by after a window with too many late answers.</summary>
    public const double Decrease = 0.75;

    /// <summary>What the share grows by after a window in time whose admission it limited.</summary>
    public const double Increase = 0.02;

    /// <summary>The smallest share: admission never closes altogether (and a request with nothing ahead is admitted anyway).</summary>
    public const double Minimum = 0.05;

    private readonly Lock _lock = new();
    private double _share = 1;
    private int _inTime;
    private int _late;
    private long _refused;

    /// <summary>The share now, 0.05 to 1.</summary>
    public double Value => Volatile.Read(ref _share);

    /// <summary>Whether a request whose work ahead is expected to take <paramref name="expected"/> of the <paramref name="budget"/> to its deadline is admitted.</summary>
    public bool Admits(double expected, double budget) => expected <= budget * Value;

    /// <summary>A request refused by deadline (the share limited admission in this window).</summary>
    public void Refused() => Interlocked.Increment(ref _refused);

    /// <summary>Answers of one batch: <paramref name="inTime"/> within their target, <paramref name="late"/> past it.</summary>
    public void Answered(int inTime, int late)
    {
        if (inTime + late == 0)
        {
            return;
        }

        lock (_lock)
        {
            _inTime += inTime;
            _late += late;
            if (_inTime + _late < Window)
            {
                return;
            }

            // A batch may straddle windows: the window's tolerance scales with the answers it counted.
            var share = _share;
            var refused = Interlocked.Exchange(ref _refused, 0);
            if (_late * Window > LateTolerance * (_inTime + _late))
            {
                share = Math.Max(Minimum, share * Decrease);
            }
            else if (refused > 0)
            {
                share = Math.Min(1, share + Increase);
            }

            Volatile.Write(ref _share, share);
            _inTime = 0;
            _late = 0;
        }
    }
}
