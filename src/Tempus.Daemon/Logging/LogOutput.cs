using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Tempus.Daemon.Logging;

/// <summary>
/// Where tempusd's log entries go, one at a time under a lock with one reused buffer (logging is low volume: per
/// packet events are Trace only), written before <c>Log</c> returns, with no thread of its own. Under systemd with
/// stderr connected to the journal, each entry is one datagram of the journal's native protocol (structured
/// fields, see <see cref="JournalEntry"/>), or, when it is too large for a datagram, a sealed memfd holding it whose
/// descriptor is sent in an empty datagram, as sd_journal_sendv does; if the journal refuses it (socket gone, queue
/// full) the entry goes to stderr as a <c>&lt;priority&gt;</c> line instead, which journald reads too. Otherwise
/// each entry is one SimpleConsole-style line on stderr. Nothing here throws: a log entry that cannot be written
/// anywhere is lost rather than stopping time service.
/// </summary>
internal sealed class LogOutput : IDisposable
{
    /// <summary>journald's native protocol socket (systemd.io/JOURNAL_NATIVE_PROTOCOL).</summary>
    public const string JournalSocketPath = "/run/systemd/journal/socket";

    // A stderr line longer than this (a message of a megabyte) is cut: bounded, like the journal's entry.
    private const int MaxLineBytes = 1024 * 1024;

    // The name a memfd shows in /proc/PID/fd (/memfd:tempusd-journal), for whoever looks at journald's descriptors.
    private const string MemfdName = "tempusd-journal";

    // journald (manager_process_native_file) maps a memfd with these seals as it is, since nothing can change it
    // under the mapping; an unsealed one it takes only from root (tempusd runs as _tempus) or from /dev/shm or /tmp.
    private const int JournalSeals = Interop.Libc.F_SEAL_SHRINK | Interop.Libc.F_SEAL_GROW | Interop.Libc.F_SEAL_WRITE | Interop.Libc.F_SEAL_SEAL;

    private readonly Lock _lock = new();
    private readonly Stream _stderr;
    private readonly TimeProvider _time;
    private readonly LogBuffer _line = new(MaxLineBytes);
    private readonly LogBuffer? _entry;
    private readonly SocketAddress? _journalAddress;
    private Socket? _journal;

    /// <summary>
    /// Writes to <paramref name="stderr"/>, and to the journal socket at <paramref name="journalSocketPath"/> when it
    /// is not null (the caller checked <c>JOURNAL_STREAM</c>); tests pass their own stream and socket.
    /// </summary>
    internal LogOutput(Stream stderr, string? journalSocketPath, TimeProvider time)
    {
        _stderr = stderr;
        _time = time;
        if (journalSocketPath is null)
        {
            return;
        }

        _entry = new LogBuffer(JournalEntry.MaxEntryBytes);
        try
        {
            _journalAddress = new UnixDomainSocketEndPoint(journalSocketPath).Serialize();
            // Non-blocking: a journal that falls behind costs a line on the stream, never a stalled poll loop.
            _journal = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            _journal?.Dispose();
            _journal = null;
        }
    }

    /// <summary>
    /// The output for this process: the journal when <c>JOURNAL_STREAM</c> names stderr, else stderr lines.
    /// </summary>
    public static LogOutput FromEnvironment() =>
        new(Console.OpenStandardError(),
            JournalStream.IsStandardError(Environment.GetEnvironmentVariable("JOURNAL_STREAM")) ? JournalSocketPath : null,
            TimeProvider.System);

    /// <summary>True while entries go to the journal's native socket first.</summary>
    public bool UsesJournal => Volatile.Read(ref _journal) is not null;

    /// <summary>Writes one entry; <paramref name="values"/> are the message template's named values, for the journal.</summary>
    public void Write(LogLevel level, string category, EventId eventId, string message, Exception? exception, IReadOnlyList<KeyValuePair<string, object?>>? values)
    {
        string? exceptionText = exception?.ToString();
        lock (_lock)
        {
            if (_journal is not null && TrySendToJournal(level, category, eventId, message, exceptionText, values))
            {
                return;
            }

            _line.Clear();
            if (_entry is not null)
            {
                StderrLine.WriteSyslog(_line, level, category, eventId.Id, message, exceptionText);
            }
            else
            {
                StderrLine.WriteSimple(_line, _time.GetUtcNow(), level, category, eventId.Id, message, exceptionText);
            }

            try
            {
                _stderr.Write(_line.Written);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                // stderr closed or full beyond repair: there is nowhere left to say so.
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _journal?.Dispose();
            _journal = null;
        }
    }

    private bool TrySendToJournal(LogLevel level, string category, EventId eventId, string message, string? exception, IReadOnlyList<KeyValuePair<string, object?>>? values)
    {
        _entry!.Clear();
        JournalEntry.Write(_entry, level, category, eventId, message, exception, values);
        try
        {
            return _journal!.SendTo(_entry.Written, SocketFlags.None, _journalAddress!) == _entry.Length;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.MessageSize or SocketError.NoBufferSpaceAvailable)
        {
            // EMSGSIZE (larger than the send buffer), ENOBUFS (the kernel could not allocate it): sd_journal_sendv's
            // cases for a memfd.
            return TrySendThroughMemfd();
        }
        catch (SocketException)
        {
            // ENOENT/ECONNREFUSED (journald not running), EAGAIN (its queue is full): the stream instead.
            return false;
        }
    }

    /// <summary>
    /// systemd.io/JOURNAL_NATIVE_PROTOCOL for an entry too large for a datagram: the entry written to a memfd, sealed
    /// against any change (journald refuses an unsealed one from a process that is not root), its descriptor sent to
    /// the journal in an empty datagram (SCM_RIGHTS). journald reads the entry from it and closes it; ours closes here. False, for stderr,
    /// when any step fails (no memfd_create, the journal gone or its queue full).
    /// </summary>
    private bool TrySendThroughMemfd()
    {
        using SafeFileHandle? memfd = Interop.Libc.CreateSealableMemfd(MemfdName, out _);
        if (memfd is null)
        {
            return false;
        }

        try
        {
            RandomAccess.Write(memfd, _entry!.Written, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // ENOSPC/ENOMEM: no memory for it, so no memory for journald to read it either.
            return false;
        }

        return Interop.Libc.AddSeals(memfd, JournalSeals) == 0
            && Interop.Libc.SendFileDescriptor(_journal!.SafeHandle, _journalAddress!.Buffer.Span[.._journalAddress.Size], memfd) == 0;
    }
}
