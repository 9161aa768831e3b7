using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.Extensions.Options;
using ServingGateway.Inference;

namespace ServingGateway.Deployments.Versions;

/// <summary>
/// Stores uploaded model versions in the model repository, immutably and atomically: the upload is written and
/// checked in a staging folder inside the model's folder (same filesystem), every file fsynced, then renamed to
/// <c>{model}/{version}/</c> in one step; on any failure the staging folder (and a model folder this upload
/// created) is removed, so nothing is left behind. Never loads what it stores.
/// </summary>
internal sealed partial class VersionStore
{
    /// <summary>The staging folders' name prefix: hidden (the repository skips names starting with '.').</summary>
    public const string StagingPrefix = ".upload-";

    private readonly VersionCatalog _catalog;
    private readonly IOptionsMonitor<VersionUploadOptions> _options;
    private readonly ILogger<VersionStore> _logger;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _commits = new(StringComparer.Ordinal);

    public VersionStore(VersionCatalog catalog, IOptionsMonitor<VersionUploadOptions> options, ILogger<VersionStore> logger)
    {
        _catalog = catalog;
        _options = options;
        _logger = logger;
    }

    /// <summary>
    /// Stores <paramref name="body"/> as version <paramref name="versionText"/> of <paramref name="model"/>: the model
    /// file itself (application/octet-stream) or a zip (application/zip) or tar (application/x-tar) of the version
    /// folder. A config.json or config.pbtxt at the archive's root is the model's config: installed beside the
    /// versions when the model folder has none, otherwise it must equal the model's (it is never part of the version).
    /// </summary>
    /// <returns>The version and its digest; <see cref="StoredVersion.Created"/> false when the same bytes were stored already.</returns>
    /// <exception cref="UploadRefusedException">400 bad name, version, archive or model (ONNX Runtime's reason, or how its signature differs from the serving one's); 409 the version exists with other bytes; 413 too large; 415 another content type.</exception>
    public async Task<StoredVersion> StoreAsync(string model, string versionText, string? contentType, long? contentLength, Stream body, UploadReceipt receipt, CancellationToken cancellationToken)
    {
        if (!VersionCatalog.IsValidModelName(model))
        {
            throw Refuse(receipt, "invalid", StatusCodes.Status400BadRequest, $"'{UploadRefusedException.Echo(model)}' is not a model name: letters, digits, '_', '-' and '.', not starting with '.', at most 128 characters");
        }

        if (!VersionCatalog.TryParseVersion(versionText, out var version) || version == 0)
        {
            throw Refuse(receipt, "invalid", StatusCodes.Status400BadRequest, $"'{UploadRefusedException.Echo(versionText)}' is not a version: a positive whole number without leading zeros, at most 18 digits");
        }

        var kind = ParseKind(contentType)
            ?? throw Refuse(receipt, "unsupported_media_type", StatusCodes.Status415UnsupportedMediaType,
                $"Content-Type must be application/octet-stream (the model.onnx file), application/zip or application/x-tar (the version folder); it is '{UploadRefusedException.Echo(contentType ?? "")}'");
        var options = _options.CurrentValue;
        if (contentLength > options.MaxUploadBytes)
        {
            throw TooLarge(receipt, options);
        }

        var modelDirectory = Path.Combine(_catalog.Root, model);
        var createdModel = !Directory.Exists(modelDirectory);
        var stage = Path.Combine(modelDirectory, StagingPrefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(stage);
        try
        {
            var versionDirectory = Path.Combine(stage, "version");
            Directory.CreateDirectory(versionDirectory);
            if (kind == UploadKind.Model)
            {
                await ReceiveAsync(body, Path.Combine(versionDirectory, VersionCatalog.ModelFileName), options, receipt, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var archive = Path.Combine(stage, "archive");
                await ReceiveAsync(body, archive, options, receipt, cancellationToken).ConfigureAwait(false);
                try
                {
                    VersionArchive.Extract(archive, kind == UploadKind.Zip, versionDirectory, options.MaxArchiveEntries, options.MaxExpandedBytes);
                }
                catch (UploadRefusedException ex)
                {
                    throw Refuse(receipt, "invalid", ex.StatusCode, ex.Message);
                }

                File.Delete(archive);
                versionDirectory = Unwrap(versionDirectory);
            }

            var configs = SplitConfig(versionDirectory, Path.Combine(stage, "config"), modelDirectory, receipt);
            if (!File.Exists(Path.Combine(versionDirectory, VersionCatalog.ModelFileName)))
            {
                throw Refuse(receipt, "invalid", StatusCodes.Status400BadRequest, $"the archive has no {VersionCatalog.ModelFileName} at its root (or in its one top folder)");
            }

            var digest = VersionCatalog.ComputeDigest(versionDirectory);
            receipt.Digest = digest;
            var final = Path.Combine(modelDirectory, versionText);
            if (Directory.Exists(final))
            {
                return Existing(model, versionText, final, digest, receipt);
            }

            var configDirectory = configs.Count > 0 ? Path.Combine(stage, "config") : modelDirectory;
            if (await Task.Run(() => _catalog.Check(model, versionDirectory, configDirectory), cancellationToken).ConfigureAwait(false) is { } reason)
            {
                throw Refuse(receipt, "invalid", StatusCodes.Status400BadRequest, reason);
            }

            var gate = _commits.GetOrAdd(model, _ => new SemaphoreSlim(1, 1));
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (Directory.Exists(final))
                {
                    return Existing(model, versionText, final, digest, receipt);
                }

                foreach (var config in configs)
                {
                    // A model's config is never replaced by an upload: an earlier upload may have installed it meanwhile.
                    var installed = Path.Combine(modelDirectory, Path.GetFileName(config));
                    if (File.Exists(installed))
                    {
                        RequireSame(config, installed, receipt);
                    }
                    else
                    {
                        File.Move(config, installed);
                    }
                }

                Directory.Move(versionDirectory, final);
            }
            finally
            {
                gate.Release();
            }

            receipt.Result = "created";
            Log.Stored(_logger, model, versionText, receipt.Bytes, digest);
            return new StoredVersion(model, versionText, digest, Created: true);
        }
        finally
        {
            Remove(stage, createdModel ? modelDirectory : null);
        }
    }

    private static StoredVersion Existing(string model, string versionText, string final, string digest, UploadReceipt receipt)
    {
        var stored = VersionCatalog.ComputeDigest(final);
        if (stored != digest)
        {
            throw Refuse(receipt, "conflict", StatusCodes.Status409Conflict,
                $"model '{model}' version {versionText} is stored already with other bytes (digest {stored}, this upload's {digest}); versions are immutable: upload a new version number");
        }

        receipt.Result = "unchanged";
        return new StoredVersion(model, versionText, digest, Created: false);
    }

    // An archive of the version folder itself ("3/model.onnx"): its one top folder is the version.
    private static string Unwrap(string versionDirectory)
    {
        if (!File.Exists(Path.Combine(versionDirectory, VersionCatalog.ModelFileName))
            && Directory.GetFiles(versionDirectory).Length == 0
            && Directory.GetDirectories(versionDirectory) is [var only])
        {
            return only;
        }

        return versionDirectory;
    }

    // Moves the archive's model config files out of the version into configDirectory: the files to install when the
    // model folder has none (empty when it has, after checking they equal the model's).
    private static List<string> SplitConfig(string versionDirectory, string configDirectory, string modelDirectory, UploadReceipt receipt)
    {
        var found = VersionCatalog.ConfigFileNames.Where(n => File.Exists(Path.Combine(versionDirectory, n))).ToList();
        if (found.Count == 0)
        {
            return [];
        }

        var modelHasConfig = VersionCatalog.ConfigFileNames.Any(n => File.Exists(Path.Combine(modelDirectory, n)));
        Directory.CreateDirectory(configDirectory);
        var moved = new List<string>();
        foreach (var name in found)
        {
            var target = Path.Combine(configDirectory, name);
            File.Move(Path.Combine(versionDirectory, name), target);
            if (modelHasConfig)
            {
                RequireSame(target, Path.Combine(modelDirectory, name), receipt);
            }
            else
            {
                moved.Add(target);
            }
        }

        return moved;
    }

    private static void RequireSame(string uploaded, string installed, UploadReceipt receipt)
    {
        var name = Path.GetFileName(installed);
        if (!File.Exists(installed) || !File.ReadAllBytes(uploaded).AsSpan().SequenceEqual(File.ReadAllBytes(installed)))
        {
            throw Refuse(receipt, "invalid", StatusCodes.Status400BadRequest,
                $"the archive's {name} is not the model's: the model folder has its own config, which an upload never changes (leave {name} out of the archive, or make it equal)");
        }
    }

    private static async Task ReceiveAsync(Stream body, string path, VersionUploadOptions options, UploadReceipt receipt, CancellationToken cancellationToken)
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
                throw Refuse(receipt, "invalid", StatusCodes.Status400BadRequest, "the body is empty: send the model.onnx bytes, or a zip or tar of the version folder");
            }

            file.Flush(flushToDisk: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static UploadRefusedException TooLarge(UploadReceipt receipt, VersionUploadOptions options) =>
        Refuse(receipt, "too_large", StatusCodes.Status413PayloadTooLarge, $"the upload is larger than {options.MaxUploadMb} MiB (Deployments:MaxUploadMb)");

    private static UploadRefusedException Refuse(UploadReceipt receipt, string result, int status, string message)
    {
        receipt.Result = result;
        return new UploadRefusedException(status, message);
    }

    private void Remove(string stage, string? createdModel)
    {
        try
        {
            if (Directory.Exists(stage))
            {
                Directory.Delete(stage, recursive: true);
            }

            // A model folder this upload created goes too unless something else is in it now (another upload's version).
            if (createdModel is not null && Directory.Exists(createdModel) && !Directory.EnumerateFileSystemEntries(createdModel).Any())
            {
                Directory.Delete(createdModel);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.CleanupFailed(_logger, stage, ex.Message);
        }
    }

    private static UploadKind? ParseKind(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var parsed) ? parsed.MediaType?.ToLowerInvariant() switch
        {
            "application/octet-stream" => UploadKind.Model,
            "application/zip" or "application/x-zip-compressed" => UploadKind.Zip,
            "application/x-tar" => UploadKind.Tar,
            _ => null,
        } : null;

    private enum UploadKind
    {
        Model,
        Zip,
        Tar,
    }

    private static partial class Log
    {
        [LoggerMessage(170, LogLevel.Information, "Stored model {Model} version {Version}: {Bytes} bytes uploaded, digest {Digest}")]
        public static partial void Stored(ILogger logger, string model, string version, long bytes, string digest);

        [LoggerMessage(171, LogLevel.Warning, "Could not remove the upload staging folder {Path}: {Reason}")]
        public static partial void CleanupFailed(ILogger logger, string path, string reason);
    }
}
