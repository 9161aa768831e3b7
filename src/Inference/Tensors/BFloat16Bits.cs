namespace ServingGateway.Inference.Tensors;

/// <summary>
/// bfloat16 conversions on raw bits: the upper 16 bits of an IEEE single, rounded to nearest even.
/// </summary>
internal static class BFloat16Bits
{
    /// <summary>Rounds a single to the nearest bfloat16 (ties to even); NaN stays NaN.</summary>
    public static ushort FromSingle(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        var roundingBias = 0x7FFFu + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>Widens a bfloat16 to the single with the same value.</summary>
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>True unless the bits encode an infinity or NaN.</summary>
    public static bool IsFinite(ushort bits) => (bits & 0x7F80) != 0x7F80;
}
