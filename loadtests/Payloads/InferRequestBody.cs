using System.Globalization;
using System.Net.Http.Headers;

namespace ServingGateway.LoadTool.Payloads;

/// <summary>
/// One encoded infer request body: OIP JSON, or the binary tensor data extension (a JSON header of
/// <see cref="HeaderLength"/> bytes followed by the raw tensors).
/// </summary>
internal sealed class InferRequestBody(byte[] bytes, int? headerLength)
{
    /// <summary>The header of the binary tensor data extension.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue Binary = new("application/octet-stream");

    public byte[] Bytes { get; } = bytes;

    /// <summary>The JSON header's length when the body uses the binary extension; null for plain JSON.</summary>
    public int? HeaderLength { get; } = headerLength;

    /// <summary>A new content over the shared bytes (an <see cref="HttpContent"/> is per request).</summary>
    public HttpContent CreateContent()
    {
        var content = new ByteArrayContent(Bytes);
        content.Headers.ContentType = HeaderLength is null ? Json : Binary;
        if (HeaderLength is { } length)
        {
            content.Headers.TryAddWithoutValidation(HeaderLengthHeader, length.ToString(CultureInfo.InvariantCulture));
        }

        return content;
    }
}
