namespace ServingGateway.Inference.Caching;

/// <summary>
/// The bytes that managed objects take on a 64-bit runtime, for counting cache entries at their real size:
/// an object header and method table pointer (16 bytes) before the fields, an array's length after them,
/// everything rounded up to 8 bytes.
/// </summary>
internal static class ManagedLayout
{
    /// <summary>An object with <paramref name="fields"/> fields of up to 8 bytes each.</summary>
    public static long Object(int fields) => Math.Max(24, Align(16 + (8L * fields)));

    /// <summary>An array of <paramref name="length"/> elements of <paramref name="elementSize"/> bytes.</summary>
    public static long Array(long length, int elementSize) => Align(24 + (length * elementSize));

    /// <summary>A string of <paramref name="length"/> UTF-16 characters (with its terminating zero).</summary>
    public static long String(int length) => Align(20 + (2L * (length + 1)));

    private static long Align(long bytes) => (bytes + 7) & ~7L;
}
