using Microsoft.ML.OnnxRuntime.Tensors;

namespace ServingGateway.Inference.Tensors;

/// <summary>
/// Names, sizes and ONNX Runtime element types of <see cref="TensorDataType"/>.
/// </summary>
internal static class TensorDataTypes
{
    private static readonly string[] Names =
    [
        "INVALID", "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
        "FP16", "FP32", "FP64", "BF16", "BYTES",
    ];

    // Size of one element in bytes; 0 for BYTES, whose elements vary in length.
    private static readonly int[] Sizes = [0, 1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 2, 0];

    /// <summary>The OIP spelling, e.g. "FP32".</summary>
    public static string ToOipName(this TensorDataType type) => Names[(int)type];

    /// <summary>Bytes per element; 0 for <see cref="TensorDataType.Bytes"/>.</summary>
    public static int ElementSize(this TensorDataType type) => Sizes[(int)type];

    /// <summary>Parses an OIP datatype name (case-sensitive, as in Triton).</summary>
    public static bool TryParse(string name, out TensorDataType type)
    {
        type = (TensorDataType)Math.Max(0, Array.IndexOf(Names, name, 1));
        return type != TensorDataType.Invalid;
    }

    /// <summary>Parses an OIP datatype name as sent on the wire (case-sensitive, as in Triton).</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Name, out TensorDataType type)
    {
        for (var i = 1; i < Names.Length; i++)
        {
            if (utf8Name.Length == Names[i].Length && System.Text.Ascii.Equals(utf8Name, Names[i]))
            {
                type = (TensorDataType)i;
                return true;
            }
        }

        type = TensorDataType.Invalid;
        return false;
    }

    /// <summary>The ONNX Runtime element type.</summary>
    public static TensorElementType ToOrt(this TensorDataType type) => type switch
    {
        TensorDataType.Bool => TensorElementType.Bool,
        TensorDataType.UInt8 => TensorElementType.UInt8,
        TensorDataType.UInt16 => TensorElementType.UInt16,
        TensorDataType.UInt32 => TensorElementType.UInt32,
        TensorDataType.UInt64 => TensorElementType.UInt64,
        TensorDataType.Int8 => TensorElementType.Int8,
        TensorDataType.Int16 => TensorElementType.Int16,
        TensorDataType.Int32 => TensorElementType.Int32,
        TensorDataType.Int64 => TensorElementType.Int64,
        TensorDataType.Fp16 => TensorElementType.Float16,
        TensorDataType.Fp32 => TensorElementType.Float,
        TensorDataType.Fp64 => TensorElementType.Double,
        TensorDataType.Bf16 => TensorElementType.BFloat16,
        TensorDataType.Bytes => TensorElementType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a tensor datatype"),
    };

    /// <summary>Maps an ONNX Runtime element type; false for types OIP cannot carry (complex, 4-bit, 8-bit floats).</summary>
    public static bool TryFromOrt(TensorElementType ortType, out TensorDataType type)
    {
        type = ortType switch
        {
            TensorElementType.Bool => TensorDataType.Bool,
            TensorElementType.UInt8 => TensorDataType.UInt8,
            TensorElementType.UInt16 => TensorDataType.UInt16,
            TensorElementType.UInt32 => TensorDataType.UInt32,
            TensorElementType.UInt64 => TensorDataType.UInt64,
            TensorElementType.Int8 => TensorDataType.Int8,
            TensorElementType.Int16 => TensorDataType.Int16,
            TensorElementType.Int32 => TensorDataType.Int32,
            TensorElementType.Int64 => TensorDataType.Int64,
            TensorElementType.Float16 => TensorDataType.Fp16,
            TensorElementType.Float => TensorDataType.Fp32,
            TensorElementType.Double => TensorDataType.Fp64,
            TensorElementType.BFloat16 => TensorDataType.Bf16,
            TensorElementType.String => TensorDataType.Bytes,
            _ => TensorDataType.Invalid,
        };
        return type != TensorDataType.Invalid;
    }
}
