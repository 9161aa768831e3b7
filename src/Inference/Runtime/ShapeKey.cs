using ServingGateway.Inference.Tensors;

namespace ServingGateway.Inference.Runtime;

/// <summary>
/// The shape signature requests must share to run in one batch: every input's dimensions after the batch
/// dimension (minilm requests of the same sequence length batch together).
/// </summary>
internal sealed class ShapeKey : IEquatable<ShapeKey>
{
    /// <summary>The key of requests to a model that does not batch: they never merge anyway.</summary>
    public static readonly ShapeKey Unbatched = new([]);

    private readonly long[] _dims;
    private readonly int _hash;

    private ShapeKey(long[] dims)
    {
        _dims = dims;
        var hash = default(HashCode);
        foreach (var dim in dims)
        {
            hash.Add(dim);
        }

        _hash = hash.ToHashCode();
    }

    /// <summary>The key of a request's inputs (in model order), leaving out dimension 0.</summary>
    public static ShapeKey Of(PooledTensor[] inputs)
    {
        var length = 0;
        foreach (var input in inputs)
        {
            length += input.Shape.Length; // each input also contributes its rank, so [2,3]+[4] differs from [2]+[3,4]
        }

        var dims = new long[length];
        var at = 0;
        foreach (var input in inputs)
        {
            dims[at++] = input.Shape.Length;
            input.Shape.AsSpan(1).CopyTo(dims.AsSpan(at));
            at += input.Shape.Length - 1;
        }

        return new ShapeKey(dims);
    }

    public bool Equals(ShapeKey? other) => other is not null && _hash == other._hash && _dims.AsSpan().SequenceEqual(other._dims);

    public override bool Equals(object? obj) => Equals(obj as ShapeKey);

    public override int GetHashCode() => _hash;
}
