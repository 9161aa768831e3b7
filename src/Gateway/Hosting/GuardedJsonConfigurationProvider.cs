using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;

namespace ServingGateway.Hosting;

/// <summary>
/// A JSON configuration file, reloaded when it changes. Unlike the stock JSON provider, which empties
/// its keys when a reload cannot be read, a file that cannot be read or parsed (half written, deleted
/// while being replaced, not JSON) leaves the last good contents in force: the reload is refused,
/// logged and counted, and the next complete write is applied.
/// </summary>
internal sealed class GuardedJsonConfigurationProvider : ConfigurationProvider, IDisposable
{
    private readonly string _path;
    private readonly ConfigReloads _reloads;
    private readonly PhysicalFileProvider _files;
    private readonly IDisposable _watch;

    public GuardedJsonConfigurationProvider(string path, ConfigReloads reloads)
    {
        _path = path;
        _reloads = reloads;
        _files = new PhysicalFileProvider(Path.GetDirectoryName(path)!);
        var name = Path.GetFileName(path);
        _watch = ChangeToken.OnChange(() => _files.Watch(name), Reload);
    }

    /// <summary>Reads the file at start; throws <see cref="InvalidDataException"/> when it cannot be read or parsed.</summary>
    public override void Load() => Data = Read(_path);

    /// <summary>The file's keys and values; throws <see cref="InvalidDataException"/> saying why it cannot be read.</summary>
    public static Dictionary<string, string?> Read(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var provider = new JsonStreamConfigurationProvider(new JsonStreamConfigurationSource { Stream = stream });
            provider.Load(stream);
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            Collect(provider, null, data);
            return data;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"{path} cannot be read as JSON: {(ex.InnerException ?? ex).Message}", ex);
        }
    }

    public void Dispose()
    {
        _watch.Dispose();
        _files.Dispose();
    }

    private static void Collect(IConfigurationProvider provider, string? parent, Dictionary<string, string?> data)
    {
        foreach (var key in provider.GetChildKeys([], parent).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var path = parent is null ? key : ConfigurationPath.Combine(parent, key);
            if (provider.TryGet(path, out var value))
            {
                data[path] = value;
            }

            Collect(provider, path, data);
        }
    }

    private void Reload()
    {
        Dictionary<string, string?> data;
        try
        {
            data = Read(_path);
        }
        catch (InvalidDataException ex)
        {
            _reloads.Refused(ConfigReloads.FileSection, [ex.Message]);
            return;
        }

        Data = data;
        OnReload();
    }
}
