using System.Globalization;
using System.Text;

namespace Tempus.Audit;

/// <summary>A file's owner, group and permission bits.</summary>
/// <param name="Uid">Owner user id.</param>
/// <param name="Gid">Owner group id.</param>
/// <param name="Mode">Permission bits (the low 12 bits of st_mode).</param>
public sealed record FileOwnership(uint Uid, uint Gid, UnixFileMode Mode);

/// <summary>
/// What the configuration audit reads from this machine besides the configuration: the mount table (is a directory
/// on tmpfs?), the user and group databases (who is the daemon's user?) and file ownership. Tests replace the parts
/// they need; <see cref="System"/> reads /proc/mounts, /etc/passwd and /etc/group.
/// </summary>
public sealed class AuditEnvironment
{
    /// <summary>Largest /proc/mounts, /etc/passwd or /etc/group read.</summary>
    public const int MaxTableSize = 4 << 20;

    /// <summary>This machine.</summary>
    public static AuditEnvironment System { get; } = new();

    /// <summary>Returns the mount table in /proc/mounts format.</summary>
    public Func<string> ReadMounts { get; init; } = () => ReadTable("/proc/mounts");

    /// <summary>Returns the user database in /etc/passwd format.</summary>
    public Func<string> ReadPasswd { get; init; } = () => ReadTable("/etc/passwd");

    /// <summary>Returns the group database in /etc/group format.</summary>
    public Func<string> ReadGroups { get; init; } = () => ReadTable("/etc/group");

    /// <summary>Returns a file's ownership, or null with the reason when it cannot be read.</summary>
    public Func<string, (FileOwnership? Ownership, string? Error)> GetOwnership { get; init; } = StatFile;

    /// <summary>The file system type of the mount holding <paramref name="path"/> ("tmpfs", "ext4"...), or null when unknown.</summary>
    public string? FileSystemType(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string resolved = ResolveLinks(Path.GetFullPath(path));
        string? bestType = null;
        int bestLength = -1;
        foreach (string line in SafeRead(ReadMounts).Split('\n'))
        {
            string[] fields = line.Split(' ');
            if (fields.Length < 3)
            {
                continue;
            }

            string mountPoint = Unescape(fields[1]);
            bool covers = mountPoint == "/"
                || resolved == mountPoint
                || resolved.StartsWith(mountPoint.TrimEnd('/') + "/", StringComparison.Ordinal);

            // The last of equally long mount points wins: it is mounted over the others.
            if (covers && mountPoint.Length >= bestLength)
            {
                bestLength = mountPoint.Length;
                bestType = fields[2];
            }
        }

        return bestType;
    }

    /// <summary>A user's uid, primary gid and supplementary gids from the user and group databases, or null when unknown.</summary>
    public (uint Uid, IReadOnlySet<uint> Gids)? LookUpUser(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        foreach (string line in SafeRead(ReadPasswd).Split('\n'))
        {
            string[] f = line.Split(':');
            if (f.Length < 4 || f[0] != user
                || !uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid)
                || !uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
            {
                continue;
            }

            var gids = new HashSet<uint> { gid };
            foreach (string groupLine in SafeRead(ReadGroups).Split('\n'))
            {
                string[] g = groupLine.Split(':');
                if (g.Length >= 4 && g[3].Split(',').Contains(user, StringComparer.Ordinal)
                    && uint.TryParse(g[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint member))
                {
                    gids.Add(member);
                }
            }

            return (uid, gids);
        }

        return null;
    }

    /// <summary>A user's primary group id from the user database, or null when unknown.</summary>
    public uint? PrimaryGroup(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        foreach (string line in SafeRead(ReadPasswd).Split('\n'))
        {
            string[] f = line.Split(':');
            if (f.Length >= 4 && f[0] == user && uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
            {
                return gid;
            }
        }

        return null;
    }

    /// <summary>Whether the user database has <paramref name="user"/>.</summary>
    public bool UserExists(string user) => LookUpUser(user) is not null;

    private static string SafeRead(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static string ReadTable(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        byte[] buffer = new byte[MaxTableSize];
        int total = 0;
        int read;
        while (total < buffer.Length && (read = stream.Read(buffer, total, buffer.Length - total)) > 0)
        {
            total += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static (FileOwnership?, string?) StatFile(string path)
    {
        int errno = Interop.Libc.GetOwnership(path, out uint uid, out uint gid, out int mode, followSymlinks: true);
        return errno == 0
            ? (new FileOwnership(uid, gid, (UnixFileMode)(mode & 0xfff)), null)
            : (null, errno switch { 2 => "No such file or directory", 13 => "Permission denied", _ => $"errno {errno}" });
    }

    // /proc/mounts escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                text.Append((char)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    // Follows symbolic links in the existing part of the path (/var/run -> /run), at most 40 of them, as the kernel does.
    private static string ResolveLinks(string path, int hops = 0)
    {
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string current = "/";
        for (int i = 0; i < parts.Length; i++)
        {
            string next = Path.Combine(current, parts[i]);
            FileSystemInfo info = new DirectoryInfo(next);
            if (info.Exists && info.LinkTarget is string target && hops < 40)
            {
                string resolved = Path.GetFullPath(target, current);
                string rest = string.Join('/', parts[(i + 1)..]);
                return ResolveLinks(rest.Length == 0 ? resolved : Path.Combine(resolved, rest), hops + 1);
            }

            current = next;
        }

        return current;
    }
}
