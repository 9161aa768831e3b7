using System.Formats.Tar;
using System.IO.Compression;

namespace ServingGateway.Deployments.Versions;

/// <summary>
/// Expands an uploaded zip or tar of a version folder into an empty folder, refusing (400) what could write
/// outside it or fill the disk: absolute paths, <c>..</c> segments, backslashes, links and special files, more than
/// a bounded number of entries, or more bytes than allowed once expanded (counted as written, never as the headers
/// claim).
/// </summary>
internal static class VersionArchive
{
    /// <summary>Expands <paramref name="archive"/> (a zip when <paramref name="zip"/>, else a tar) into <paramref name="destination"/>.</summary>
    /// <exception cref="UploadRefusedException">400: the archive is malformed or breaks a rule; the message says which.</exception>
    public static void Extract(string archive, bool zip, string destination, int maxEntries, long maxBytes)
    {
        var budget = new ExpansionBudget(maxEntries, maxBytes);
        try
        {
            if (zip)
            {
                ExtractZip(archive, destination, budget);
            }
            else
            {
                ExtractTar(archive, destination, budget);
            }
        }
        catch (InvalidDataException ex)
        {
            throw UploadRefusedException.BadRequest($"the {(zip ? "zip" : "tar")} archive cannot be read: {ex.Message}");
        }
        catch (FormatException ex)
        {
            throw UploadRefusedException.BadRequest($"the tar archive cannot be read: {ex.Message}");
        }
        catch (IOException ex)
        {
            // A cut-short stream, or entries that collide (a file where a folder is needed).
            throw UploadRefusedException.BadRequest($"the {(zip ? "zip" : "tar")} archive cannot be expanded: {ex.Message}");
        }
    }

    /// <summary>
    /// The relative path an entry name stands for, with '/' separators and no trailing one, or a 400: names must be
    /// relative, without <c>..</c>, backslashes, drive letters or NUL.
    /// </summary>
    public static string SafeRelativePath(string name)
    {
        var trimmed = name.TrimEnd('/');
        if (trimmed.Length == 0 || name.StartsWith('/') || name.Contains('\\', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal)
            || name.Contains(':', StringComparison.Ordinal))
        {
            throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(name)}' is not a relative path (absolute, backslash, drive or empty)");
        }

        var segments = trimmed.Split('/').Where(s => s != "." && s.Length > 0).ToArray();
        if (segments.Length == 0 || segments.Contains(".."))
        {
            throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(name)}' leaves the version folder ('..' or empty)");
        }

        return string.Join('/', segments);
    }

    private static void ExtractZip(string archive, string destination, ExpansionBudget budget)
    {
        using var zip = ZipFile.OpenRead(archive);
        foreach (var entry in zip.Entries)
        {
            budget.CountEntry();
            var relative = SafeRelativePath(entry.FullName);
            const int FileTypeMask = 0xF000;
            var type = (entry.ExternalAttributes >> 16) & FileTypeMask;
            if (type == 0xA000)
            {
                throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(entry.FullName)}' is a symbolic link; links are refused");
            }

            if (type is not (0 or 0x8000 or 0x4000))
            {
                throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(entry.FullName)}' is not a regular file or folder");
            }

            var target = Target(destination, relative);
            if (entry.FullName.EndsWith('/') || type == 0x4000)
            {
                Directory.CreateDirectory(target);
                continue;
            }

            using var source = entry.Open();
            Write(source, target, budget);
        }
    }

    private static void ExtractTar(string archive, string destination, ExpansionBudget budget)
    {
        using var stream = File.OpenRead(archive);
        using var tar = new TarReader(stream);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
            {
                continue;
            }

            budget.CountEntry();
            var relative = SafeRelativePath(entry.Name);
            var target = Target(destination, relative);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(target);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                    if (entry.DataStream is { } data)
                    {
                        Write(data, target, budget);
                    }
                    else
                    {
                        Write(Stream.Null, target, budget);
                    }

                    break;
                case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                    throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(entry.Name)}' is a link; links are refused");
                default:
                    throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(entry.Name)}' is a {entry.EntryType}, not a regular file or folder");
            }
        }
    }

    private static string Target(string destination, string relative)
    {
        var root = Path.GetFullPath(destination);
        var target = Path.GetFullPath(Path.Combine(root, relative));
        if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(relative)}' leaves the version folder");
        }

        return target;
    }

    // A file is written once: a second entry of the same name would replace what was checked.
    private static void Write(Stream source, string target, ExpansionBudget budget)
    {
        if (File.Exists(target) || Directory.Exists(target))
        {
            throw UploadRefusedException.BadRequest($"archive entry '{UploadRefusedException.Echo(Path.GetFileName(target))}' appears twice");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        using var file = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        var buffer = new byte[81920];
        int read;
        while ((read = source.Read(buffer)) > 0)
        {
            budget.CountBytes(read);
            file.Write(buffer, 0, read);
        }

        file.Flush(flushToDisk: true);
    }

    private sealed class ExpansionBudget(int maxEntries, long maxBytes)
    {
        private int _entries;
        private long _bytes;

        public void CountEntry()
        {
            if (++_entries > maxEntries)
            {
                throw UploadRefusedException.BadRequest($"the archive has more than {maxEntries} entries (Deployments:MaxArchiveEntries)");
            }
        }

        public void CountBytes(int bytes)
        {
            _bytes += bytes;
            if (_bytes > maxBytes)
            {
                throw UploadRefusedException.BadRequest($"the archive expands to more than {maxBytes / (1024 * 1024)} MiB (Deployments:MaxExpandedMb)");
            }
        }
    }
}
