namespace ServingGateway.Batching;

/// <summary>
/// The execution time of a batch by its size, learned from the batches run: an exponentially weighted
/// average per size, interpolated between measured sizes and extrapolated linearly past the largest.
/// </summary>
/// <remarks>Not thread-safe: the batcher's consumer loop owns it.</remarks>
internal sealed class ExecutionTimeEstimator
{
    private const double Weight = 0.2;
    private readonly double[] _ticks;

    public ExecutionTimeEstimator(int maxBatchRows)
    {
        _ticks = new double[maxBatchRows + 1];
    }

    /// <summary>True once any batch has been measured.</summary>
    public bool HasData { get; private set; }

    /// <summary>Records that a batch of <paramref name="rows"/> took <paramref name="ticks"/>.</summary>
    public void Record(int rows, long ticks)
    {
        if (rows < 1 || rows >= _ticks.Length || ticks < 0)
        {
            return;
        }

        // A zero-tick run still counts as measured.
        var sample = Math.Max(ticks, 1);
        _ticks[rows] = _ticks[rows] == 0 ? sample : (_ticks[rows] * (1 - Weight)) + (sample * Weight);
        HasData = true;
    }

    /// <summary>
    /// The batch size past which measured batches cost measurably more per row: the largest measured size
    /// whose time per row is within <paramref name="tolerance"/> of the best measured one, or the largest
    /// possible size when that is the largest measured size (nothing bigger was measured worse).
    /// </summary>
    /// <remarks>O(sizes); the scheduler asks once per batch.</remarks>
    public int EfficientLimit(double tolerance)
    {
        var maxRows = _ticks.Length - 1;
        var best = double.MaxValue;
        var largest = 0;
        for (var rows = 1; rows <= maxRows; rows++)
        {
            if (_ticks[rows] > 0)
            {
                best = Math.Min(best, _ticks[rows] / rows);
                largest = rows;
            }
        }

        for (var rows = largest; rows >= 1; rows--)
        {
            if (_ticks[rows] > 0 && _ticks[rows] / rows <= best * (1 + tolerance))
            {
                return rows == largest ? maxRows : rows;
            }
        }

        return maxRows;
    }

    /// <summary>True when a batch of exactly <paramref name="rows"/> has been measured.</summary>
    public bool IsMeasured(int rows) => rows >= 1 && rows < _ticks.Length && _ticks[rows] > 0;

    /// <summary>The expected ticks for a batch of <paramref name="rows"/>; 0 before any measurement.</summary>
    public double Estimate(int rows)
    {
        rows = Math.Clamp(rows, 1, _ticks.Length - 1);
        if (_ticks[rows] > 0 || !HasData)
        {
            return _ticks[rows];
        }

        var below = rows - 1;
        while (below >= 1 && _ticks[below] == 0)
        {
            below--;
        }

        var above = rows + 1;
        while (above < _ticks.Length && _ticks[above] == 0)
        {
            above++;
        }

        if (below >= 1 && above < _ticks.Length)
        {
            return _ticks[below] + ((_ticks[above] - _ticks[below]) * (rows - below) / (above - below));
        }

        // Past the largest measured size: as if each further row cost the average row (no gain assumed).
        // Below the smallest: that size's time, never less (no gain assumed either).
        return below >= 1 ? _ticks[below] * rows / below : _ticks[above];
    }
}
