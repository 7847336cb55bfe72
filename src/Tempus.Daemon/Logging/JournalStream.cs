using System.Globalization;

namespace Tempus.Daemon.Logging;

/// <summary>
/// Whether stderr is connected to the journal. systemd.exec(5): for a service whose output goes to the journal,
/// <c>JOURNAL_STREAM</c> holds the device and inode numbers (<c>st_dev:st_ino</c>, decimal) of that stream, and a
/// program should switch to the native protocol only when they match its own stderr: the variable is inherited by
/// children whose stderr was redirected elsewhere, and by a shell started from a service.
/// </summary>
internal static class JournalStream
{
    /// <summary>stderr's file descriptor, the stream tempusd logs to.</summary>
    private const int StandardErrorFd = 2;

    // "18446744073709551615:18446744073709551615": anything longer is not what systemd writes.
    private const int MaxLength = 41;

    /// <summary>True when <c>JOURNAL_STREAM</c> names this process's stderr.</summary>
    public static bool IsStandardError(string? journalStream) => Matches(journalStream, StandardErrorFd);

    /// <summary>
    /// True when <paramref name="journalStream"/> is <c>device:inode</c> and those are the numbers of the open file
    /// <paramref name="fd"/>; false for anything else (unset, garbage, a file descriptor fstat cannot read).
    /// </summary>
    public static bool Matches(string? journalStream, int fd) =>
        TryParse(journalStream, out ulong device, out ulong inode)
        && TryGetIdentity(fd, out ulong fdDevice, out ulong fdInode)
        && device == fdDevice && inode == fdInode;

    /// <summary>Parses <c>device:inode</c>: two unsigned decimal numbers and nothing else; false for anything else.</summary>
    public static bool TryParse(string? journalStream, out ulong device, out ulong inode)
    {
        device = inode = 0;
        if (journalStream is null || journalStream.Length > MaxLength)
        {
            return false;
        }

        int colon = journalStream.IndexOf(':', StringComparison.Ordinal);
        return colon > 0
            && ulong.TryParse(journalStream.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out device)
            && ulong.TryParse(journalStream.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out inode);
    }

    /// <summary>The device and inode numbers of an open file, as fstat(2) gives them; false when it cannot be read.</summary>
    public static bool TryGetIdentity(int fd, out ulong device, out ulong inode) =>
        Interop.Libc.GetFileIdentity(fd, out device, out inode) == 0;
}
