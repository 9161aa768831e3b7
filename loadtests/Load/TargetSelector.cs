namespace ServingGateway.LoadTool.Load;

/// <summary>
/// Which target request <c>i</c> goes to, so that a scenario's weights hold exactly over every
/// cycle of <c>sum(weights)</c> requests and the targets interleave evenly (nginx's smooth weighted
/// round robin, computed once into a cycle).
/// </summary>
internal sealed class TargetSelector
{
    /// <summary>The longest cycle; weights are scaled down to fit.</summary>
    public const int MaxCycle = 10_000;

    private readonly int[] _cycle;

    public TargetSelector(IReadOnlyList<int> weights)
    {
        ArgumentOutOfRangeException.ThrowIfZero(weights.Count);
        if (weights.Any(w => w < 1))
        {
            throw new ArgumentException("weights must be at least 1", nameof(weights));
        }

        var scaled = Scale(weights);
        var total = scaled.Sum();
        var current = new long[scaled.Length];
        _cycle = new int[total];
        for (var i = 0; i < total; i++)
        {
            var best = 0;
            for (var t = 0; t < scaled.Length; t++)
            {
                current[t] += scaled[t];
                if (current[t] > current[best])
                {
                    best = t;
                }
            }

            current[best] -= total;
            _cycle[i] = best;
        }
    }

    /// <summary>The target of request <paramref name="index"/>.</summary>
    public int Pick(long index) => _cycle[index % _cycle.Length];

    private static int[] Scale(IReadOnlyList<int> weights)
    {
        var gcd = weights.Aggregate(0, (g, w) => Gcd(g, w));
        var scaled = weights.Select(w => w / gcd).ToArray();
        var sum = scaled.Sum(w => (long)w);
        if (sum <= MaxCycle)
        {
            return scaled;
        }

        return [.. scaled.Select(w => Math.Max(1, (int)(w * MaxCycle / sum)))];
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
