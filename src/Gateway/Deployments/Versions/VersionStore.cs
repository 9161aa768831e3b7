using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using ServingGateway.Inference;

namespace ServingGateway.Deployments.Versions;

/// <summary>
/// Stores uploaded model versions in the model repository, immutably and atomically: the upload is written and
/// checked in a staging folder inside the model's folder (same filesystem), every file fsynced, then renamed to
/// <c>{model}/{version}/</c> in one step; on any failure the staging folder (and a model folder this upload
/// created) is removed, so nothing is left behind. Never loads what it stores.
/// </summary>
internal sealed partial class VersionStore : IVersionUploads
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
    /// Stores <paramref name="body"/> as <paramref name="request"/>'s version: the model file itself or a zip or tar of
    /// the version folder. A config.json or config.pbtxt at the archive's root is the model's config: installed beside
    /// the versions when the model folder has none, otherwise it must equal the model's (it is never part of the version).
    /// </summary>
    /// <exception cref="UploadRefusedException">400 bad archive or model (ONNX Runtime's reason, or how its signature differs from the serving one's); 409 the version exists with other bytes; 413 too large.</exception>
    public async Task<StoredVersion> StoreAsync(UploadRequest request, Stream body, UploadReceipt receipt, CancellationToken cancellationToken)
    {
        var (model, versionText, kind, _) = request;
        var options = _options.CurrentValue;
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
                await UploadRequest.ReceiveAsync(body, Path.Combine(versionDirectory, VersionCatalog.ModelFileName), options, receipt, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var archive = Path.Combine(stage, "archive");
                await UploadRequest.ReceiveAsync(body, archive, options, receipt, cancellationToken).ConfigureAwait(false);
                try
                {
                    VersionArchive.Extract(archive, kind == UploadKind.Zip, versionDirectory, options.MaxArchiveEntries, options.MaxExpandedBytes);
                }
                catch (UploadRefusedException ex)
                {
                    throw receipt.Refuse("invalid", ex.StatusCode, ex.Message);
                }

                File.Delete(archive);
                versionDirectory = Unwrap(versionDirectory);
            }

            var configs = SplitConfig(versionDirectory, Path.Combine(stage, "config"), modelDirectory, receipt);
            if (!File.Exists(Path.Combine(versionDirectory, VersionCatalog.ModelFileName)))
            {
                throw receipt.Refuse("invalid", StatusCodes.Status400BadRequest, $"the archive has no {VersionCatalog.ModelFileName} at its root (or in its one top folder)");
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
                throw receipt.Refuse("invalid", StatusCodes.Status400BadRequest, reason);
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
            throw receipt.Refuse("conflict", StatusCodes.Status409Conflict,
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
            throw receipt.Refuse("invalid", StatusCodes.Status400BadRequest,
                $"the archive's {name} is not the model's: the model folder has its own config, which an upload never changes (leave {name} out of the archive, or make it equal)");
        }
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

    private static partial class Log
    {
        [LoggerMessage(170, LogLevel.Information, "Stored model {Model} version {Version}: {Bytes} bytes uploaded, digest {Digest}")]
        public static partial void Stored(ILogger logger, string model, string version, long bytes, string digest);

        [LoggerMessage(171, LogLevel.Warning, "Could not remove the upload staging folder {Path}: {Reason}")]
        public static partial void CleanupFailed(ILogger logger, string path, string reason);
    }
}
