namespace ServingGateway.Observability;

/// <summary>The last <see cref="Capacity"/> samples of one series, oldest overwritten first; fixed memory. Not thread-safe (its owner locks).</summary>
internal sealed class StatusRing
{
    private readonly StatusSample[] _items;
    private int _next;
    private int _count;

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not positive.</exception>
    public StatusRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _items = new StatusSample[capacity];
    }

    /// <summary>The most samples kept.</summary>
    public int Capacity => _items.Length;

    /// <summary>The samples kept now.</summary>
    public int Count => _count;

    /// <summary>Adds a sample, dropping the oldest when full.</summary>
    public void Add(StatusSample sample)
    {
        _items[_next] = sample;
        _next = (_next + 1) % _items.Length;
        _count = Math.Min(_count + 1, _items.Length);
    }

    /// <summary>The samples kept, oldest first.</summary>
    public StatusSample[] ToArray()
    {
        var copy = new StatusSample[_count];
        var start = (_next - _count + _items.Length) % _items.Length;
        for (var i = 0; i < _count; i++)
        {
            copy[i] = _items[(start + i) % _items.Length];
        }

        return copy;
    }
}
