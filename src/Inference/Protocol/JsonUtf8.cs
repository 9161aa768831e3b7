using System.Text;
using System.Text.Unicode;

namespace ServingGateway.Inference.Protocol;

/// <summary>
/// The one check that request JSON is UTF-8: System.Text.Json does not validate the bytes inside strings
/// until a string is read (then it throws InvalidOperationException, a 500), and copies BYTES elements
/// unvalidated. One vectorised pass over the whole text first turns every such case into a 400.
/// </summary>
internal static class JsonUtf8
{
    /// <summary>Throws a 400 naming the first bad byte's offset unless <paramref name="json"/> is valid UTF-8.</summary>
    public static void EnsureValid(ReadOnlySpan<byte> json)
    {
        if (Utf8.IsValid(json))
        {
            return;
        }

        var offset = 0;
        while (Rune.DecodeFromUtf8(json[offset..], out _, out var consumed) == System.Buffers.OperationStatus.Done)
        {
            offset += consumed;
        }

        throw InferenceException.BadRequest($"the JSON is not valid UTF-8 (bad byte 0x{json[offset]:X2} at offset {offset})");
    }
}
