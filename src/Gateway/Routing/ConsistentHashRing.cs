using System.IO.Hashing;
using System.Text;

namespace ServingGateway.Routing;

/// <summary>
/// A consistent-hash ring: each node is placed at <c>virtualNodes</c> points (XxHash64 of "id#i"); a key
/// belongs to the first point at or after its hash, and the nodes that follow it on the ring are its
/// fallbacks, in order. Adding a node takes about 1/(n+1) of the keys from the others; removing one moves
/// only its own keys.
/// </summary>
/// <typeparam name="T">What a node is.</typeparam>
internal sealed class ConsistentHashRing<T>
{
    private readonly ulong[] _points;
    private readonly int[] _owners;
    private readonly T[] _nodes;

    public ConsistentHashRing(IReadOnlyList<(string Id, T Node)> nodes, int virtualNodes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodes, 1);
        _nodes = [.. nodes.Select(n => n.Node)];
        var points = new List<(ulong Point, int Owner)>(nodes.Count * virtualNodes);
        for (var n = 0; n < nodes.Count; n++)
        {
            for (var v = 0; v < virtualNodes; v++)
            {
                points.Add((Hash($"{nodes[n].Id}#{v}"), n));
            }
        }

        // Ties (vanishingly rare) are broken by node order, so every edge builds the same ring.
        points.Sort((a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : a.Owner.CompareTo(b.Owner));
        _points = [.. points.Select(p => p.Point)];
        _owners = [.. points.Select(p => p.Owner)];
    }

    /// <summary>The number of nodes.</summary>
    public int Count => _nodes.Length;

    /// <summary>XxHash64 of the UTF-8 text, the hash of keys and points.</summary>
    public static ulong Hash(string text) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(text));

    /// <summary>The node owning <paramref name="key"/>.</summary>
    public T Owner(string key) => _nodes[_owners[Start(Hash(key))]];

    /// <summary>
    /// Every node once, in ring order from <paramref name="key"/>'s point: its owner first, then its fallbacks.
    /// Writes node indexes into <paramref name="order"/> (length at least <see cref="Count"/>).
    /// </summary>
    public void Walk(string key, Span<int> order)
    {
        if (_nodes.Length == 0)
        {
            return;
        }

        Span<bool> seen = _nodes.Length <= 256 ? stackalloc bool[_nodes.Length] : new bool[_nodes.Length];
        var found = 0;
        for (int i = Start(Hash(key)), steps = 0; found < _nodes.Length && steps < _points.Length; i = (i + 1) % _points.Length, steps++)
        {
            var owner = _owners[i];
            if (!seen[owner])
            {
                seen[owner] = true;
                order[found++] = owner;
            }
        }
    }

    /// <summary>The node at index <paramref name="index"/> (as written by <see cref="Walk"/>).</summary>
    public T this[int index] => _nodes[index];

    private int Start(ulong hash)
    {
        var index = Array.BinarySearch(_points, hash);
        if (index < 0)
        {
            index = ~index;
        }

        return index == _points.Length ? 0 : index;
    }
}
