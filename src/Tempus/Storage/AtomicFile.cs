using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Tempus.Storage;

/// <summary>
/// The one way Tempus writes files that hold secrets or state (key files, NTS keys, NTS sessions): a temporary
/// file in the same directory created with mode 0600 at open(2), written and fsynced, renamed over the target,
/// then the directory fsynced so the rename survives a power cut. A crash leaves the old file or the new one,
/// never half of either, and the content is never readable by anyone but the owner.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> atomically with mode 0600.</summary>
    /// <exception cref="IOException">The file could not be written; the temporary file is removed.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable by this user.</exception>
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        string temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };

        try
        {
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        int errno = Interop.Libc.FsyncDirectory(directory);
        if (errno != 0)
        {
            throw new IOException($"cannot sync directory {directory} after writing {fullPath}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
