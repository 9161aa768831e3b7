using System.Text;

namespace ServingGateway.Inference.Tensors;

/// <summary>
/// Shape arithmetic that refuses negative dimensions and overflow instead of wrapping.
/// </summary>
internal static class TensorShape
{
    /// <summary>
    /// The number of elements of <paramref name="shape"/>; false when a dimension is negative or
    /// the product exceeds <paramref name="max"/> (checked before it can overflow).
    /// </summary>
    public static bool TryGetElementCount(ReadOnlySpan<long> shape, long max, out long count)
    {
        count = 0;
        var hasZero = false;
        foreach (var dim in shape)
        {
            if (dim < 0)
            {
                return false;
            }

            hasZero |= dim == 0;
        }

        if (hasZero)
        {
            return true;
        }

        var product = 1L;
        foreach (var dim in shape)
        {
            if (product > max / dim)
            {
                return false;
            }

            product *= dim;
        }

        count = product;
        return true;
    }

    /// <summary>Formats a shape the way OIP writes it: [1, 64]; -1 for a dynamic dimension.</summary>
    public static string Format(ReadOnlySpan<long> shape)
    {
        var sb = new StringBuilder("[");
        for (var i = 0; i < shape.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            sb.Append(shape[i]);
        }

        return sb.Append(']').ToString();
    }
}
