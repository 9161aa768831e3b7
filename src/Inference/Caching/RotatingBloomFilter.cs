namespace ServingGateway.Inference.Caching;

/// <summary>
/// Remembers which keys were seen, for second-hit admission: two Bloom filters sized for the expected keys
/// and false-positive rate; keys go into the current one, and when it has taken its expected number of
/// keys it becomes the previous one and a fresh one starts, so the filters never fill up and keys seen
/// in the last one to two generations are remembered. Thread-safe (bits set with Interlocked.Or).
/// </summary>
internal sealed class RotatingBloomFilter
{
    private readonly int _expectedKeys;
    private readonly int _hashes;
    private readonly long _bits;
    private readonly Lock _rotateLock = new();
    private long[] _current;
    private long[] _previous;
    private int _added;

    public RotatingBloomFilter(int expectedKeys, double falsePositiveRate)
    {
        _expectedKeys = expectedKeys;
        // Optimal sizing: m = -n ln p / (ln 2)^2 bits, k = m / n ln 2 hashes.
        _bits = Math.Max(64, (long)Math.Ceiling(-expectedKeys * Math.Log(falsePositiveRate) / (Math.Log(2) * Math.Log(2))));
        _hashes = Math.Clamp((int)Math.Round(_bits / (double)expectedKeys * Math.Log(2)), 1, 16);
        _current = new long[(_bits + 63) / 64];
        _previous = new long[_current.Length];
    }

    /// <summary>The bits of each filter.</summary>
    public long Bits => _bits;

    /// <summary>The hash functions per key.</summary>
    public int Hashes => _hashes;

    /// <summary>Records <paramref name="key"/>; returns true when it had been seen before (or, rarely, a false positive).</summary>
    public bool CheckAndAdd(UInt128 key)
    {
        var current = Volatile.Read(ref _current);
        var previous = Volatile.Read(ref _previous);
        var seen = Contains(current, key) || Contains(previous, key);
        if (!seen)
        {
            Add(current, key);
            if (Interlocked.Increment(ref _added) >= _expectedKeys)
            {
                Rotate();
            }
        }

        return seen;
    }

    private bool Contains(long[] bits, UInt128 key)
    {
        var (h1, h2) = Split(key);
        for (var i = 0; i < _hashes; i++)
        {
            var bit = (long)((h1 + ((ulong)i * h2)) % (ulong)_bits);
            if ((Volatile.Read(ref bits[bit >> 6]) & (1L << (int)(bit & 63))) == 0)
            {
                return false;
            }
        }

        return true;
    }

    private void Add(long[] bits, UInt128 key)
    {
        var (h1, h2) = Split(key);
        for (var i = 0; i < _hashes; i++)
        {
            var bit = (long)((h1 + ((ulong)i * h2)) % (ulong)_bits);
            Interlocked.Or(ref bits[bit >> 6], 1L << (int)(bit & 63));
        }
    }

    private void Rotate()
    {
        lock (_rotateLock)
        {
            if (Volatile.Read(ref _added) < _expectedKeys)
            {
                return;
            }

            Volatile.Write(ref _previous, _current);
            Volatile.Write(ref _current, new long[_previous.Length]);
            Volatile.Write(ref _added, 0);
        }
    }

    // Kirsch-Mitzenmacher: k hashes from two halves of the 128-bit key (already a strong hash).
    private static (ulong H1, ulong H2) Split(UInt128 key) => ((ulong)key, (ulong)(key >> 64) | 1);
}
