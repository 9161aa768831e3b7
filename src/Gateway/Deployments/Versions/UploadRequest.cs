using System.Buffers;
using System.Net.Http.Headers;
using ServingGateway.Inference;

namespace ServingGateway.Deployments.Versions;

/// <summary>
/// What a <c>PUT /admin/models/{model}/versions/{version}</c> asks to store, checked before a byte of its body is
/// read: the repository's name and version-folder rules, a Content-Type it can store, a Content-Length within
/// <c>Deployments:MaxUploadMb</c>.
/// </summary>
internal sealed record UploadRequest(string Model, string Version, UploadKind Kind, string ContentType)
{
    /// <summary>Checks the request line and headers.</summary>
    /// <exception cref="UploadRefusedException">400 bad model name or version; 413 a Content-Length past the limit; 415 another Content-Type.</exception>
    public static UploadRequest Parse(string model, string version, string? contentType, long? contentLength, VersionUploadOptions options, UploadReceipt receipt)
    {
        if (!VersionCatalog.IsValidModelName(model))
        {
            throw receipt.Refuse("invalid", StatusCodes.Status400BadRequest, $"'{UploadRefusedException.Echo(model)}' is not a model name: letters, digits, '_', '-' and '.', not starting with '.', at most 128 characters");
        }

        if (!VersionCatalog.TryParseVersion(version, out var number) || number == 0)
        {
            throw receipt.Refuse("invalid", StatusCodes.Status400BadRequest, $"'{UploadRefusedException.Echo(version)}' is not a version: a positive whole number without leading zeros, at most 18 digits");
        }

        var kind = ParseKind(contentType)
            ?? throw receipt.Refuse("unsupported_media_type", StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type must be application/octet-stream (the model.onnx file), application/zip or application/x-tar (the version folder); it is '{UploadRefusedException.Echo(contentType ?? "")}'");
        if (contentLength > options.MaxUploadBytes)
        {
            throw TooLarge(receipt, options);
        }

        return new UploadRequest(model, version, kind, contentType!);
    }

    /// <summary>
    /// Writes <paramref name="body"/> to the new file <paramref name="path"/>, counting it against
    /// <c>Deployments:MaxUploadMb</c> as it comes (a body without Content-Length too), and fsyncs it.
    /// </summary>
    /// <exception cref="UploadRefusedException">413 past the limit; 400 an empty body.</exception>
    public static async Task ReceiveAsync(Stream body, string path, VersionUploadOptions options, UploadReceipt receipt, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                receipt.Bytes += read;
                if (receipt.Bytes > options.MaxUploadBytes)
                {
                    throw TooLarge(receipt, options);
                }

                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            if (receipt.Bytes == 0)
            {
                throw receipt.Refuse("invalid", StatusCodes.Status400BadRequest, "the body is empty: send the model.onnx bytes, or a zip or tar of the version folder");
            }

            file.Flush(flushToDisk: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static UploadRefusedException TooLarge(UploadReceipt receipt, VersionUploadOptions options) =>
        receipt.Refuse("too_large", StatusCodes.Status413PayloadTooLarge, $"the upload is larger than {options.MaxUploadMb} MiB (Deployments:MaxUploadMb)");

    private static UploadKind? ParseKind(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed) ? parsed.MediaType?.ToLowerInvariant() switch
        {
            "application/octet-stream" => UploadKind.Model,
            "application/zip" or "application/x-zip-compressed" => UploadKind.Zip,
            "application/x-tar" => UploadKind.Tar,
            _ => null,
        } : null;
}
