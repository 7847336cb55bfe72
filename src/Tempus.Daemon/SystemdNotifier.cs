using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Tempus.Control;

namespace Tempus.Daemon;

/// <summary>
/// The sd_notify(3) protocol spoken without libsystemd: one datagram of newline-separated <c>KEY=VALUE</c> lines to
/// the AF_UNIX socket systemd names in <c>NOTIFY_SOCKET</c>. tempusd runs as <c>Type=notify</c>
/// (dist/tempusd.service): <c>READY=1</c> once the NTP, NTS-KE and control sockets are bound, <c>RELOADING=1</c> around
/// a SIGHUP reload, <c>STOPPING=1</c> at shutdown, <c>STATUS=</c> with the synchronization state for
/// <c>systemctl status</c>, and <c>WATCHDOG=1</c> from the engine's loop when the unit sets <c>WatchdogSec=</c>.
/// </summary>
/// <remarks>
/// Notification is best effort, as in libsystemd: a lost datagram must never stop time service. A
/// <c>NOTIFY_SOCKET</c> that is not an absolute path or an abstract name (<c>@name</c>) is reported once by
/// <see cref="Problem"/> and notification stays off.
/// </remarks>
internal sealed class SystemdNotifier : IDisposable
{
    // The kernel's limit for sun_path (108 bytes, with the terminating NUL for a path).
    private const int MaxSocketPathLength = 107;

    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly long _watchdogIntervalMs;
    private long _lastWatchdogMs;
    private string _lastStatus = "";

    private SystemdNotifier(string? socketPath, long watchdogMicroseconds)
    {
        if (string.IsNullOrEmpty(socketPath))
        {
            return;
        }

        if (socketPath[0] is not ('/' or '@') || socketPath.Length > MaxSocketPathLength || socketPath.Contains('\0', StringComparison.Ordinal))
        {
            Problem = $"NOTIFY_SOCKET '{socketPath}' is neither an absolute path nor an abstract name (@name) of at most {MaxSocketPathLength} bytes; not notifying systemd";
            return;
        }

        // An abstract address is written '@name' in the environment and starts with a NUL byte on the wire.
        _endpoint = new UnixDomainSocketEndPoint(socketPath[0] == '@' ? "\0" + socketPath[1..] : socketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

        // sd_watchdog_enabled(3): the interval in µs, for this process only (WATCHDOG_PID, when set, names it).
        if (watchdogMicroseconds > 0)
        {
            _watchdogIntervalMs = Math.Max(1, watchdogMicroseconds / 1000);
        }
    }

    /// <summary>Why notification is off although <c>NOTIFY_SOCKET</c> is set, or null.</summary>
    public string? Problem { get; }

    /// <summary>True when tempusd runs under systemd with <c>Type=notify</c> (<c>NOTIFY_SOCKET</c> is usable).</summary>
    public bool Enabled => _socket is not null;

    /// <summary>The watchdog interval systemd asked for (<c>WatchdogSec=</c>), or null when there is none.</summary>
    public TimeSpan? WatchdogInterval => _watchdogIntervalMs > 0 ? TimeSpan.FromMilliseconds(_watchdogIntervalMs) : null;

    /// <summary>The notifier for this process, from <c>NOTIFY_SOCKET</c>, <c>WATCHDOG_USEC</c> and <c>WATCHDOG_PID</c>.</summary>
    public static SystemdNotifier FromEnvironment()
    {
        string? socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        long watchdog = 0;
        if (long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long usec)
            && (Environment.GetEnvironmentVariable("WATCHDOG_PID") is not { } pid
                || (int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int owner) && owner == Environment.ProcessId)))
        {
            watchdog = usec;
        }

        return new SystemdNotifier(socket, watchdog);
    }

    /// <summary>A notifier for an explicit socket (tests): <paramref name="socketPath"/> as it would be in <c>NOTIFY_SOCKET</c>.</summary>
    internal static SystemdNotifier ForSocket(string? socketPath, long watchdogMicroseconds = 0) => new(socketPath, watchdogMicroseconds);

    /// <summary>Start-up is complete: every socket is bound and the sources are starting.</summary>
    public bool Ready(string status) => Send($"READY=1\nSTATUS={OneLine(status)}");

    /// <summary>A SIGHUP reload begins; <see cref="Ready"/> ends it.</summary>
    public bool Reloading() =>
        Send($"RELOADING=1\nMONOTONIC_USEC={Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000)}");

    /// <summary>Shutdown has begun.</summary>
    public bool Stopping() => Send("STOPPING=1\nSTATUS=stopping");

    /// <summary>Sends <c>STATUS=</c> when it differs from the last one sent.</summary>
    public bool Status(string status)
    {
        status = OneLine(status);
        if (status == _lastStatus)
        {
            return true;
        }

        _lastStatus = status;
        return Send($"STATUS={status}");
    }

    /// <summary>
    /// Called from the engine's once-a-second loop: sends <c>WATCHDOG=1</c> when half the watchdog interval has passed
    /// since the last one (sd_watchdog_enabled(3) recommends pinging at half the interval).
    /// </summary>
    public bool WatchdogTick(long nowMs)
    {
        if (_watchdogIntervalMs == 0 || nowMs - _lastWatchdogMs < _watchdogIntervalMs / 2)
        {
            return false;
        }

        _lastWatchdogMs = nowMs;
        return Send("WATCHDOG=1");
    }

    /// <summary>The <c>STATUS=</c> text for a tracking report, as short as <c>systemctl status</c> shows it.</summary>
    /// <param name="tracking">The tracking report.</param>
    /// <param name="sources">How many sources are configured.</param>
    /// <param name="reachable">How many of them answered in the last eight polls.</param>
    /// <param name="localStratum">The <c>local stratum</c> served while no source is selected, or null.</param>
    public static string DescribeTracking(TrackingReport tracking, int sources, int reachable, int? localStratum)
    {
        if (tracking.Stratum >= 16 || tracking.ReferenceTimeUnixNs == 0)
        {
            return localStratum is { } stratum
                ? string.Create(CultureInfo.InvariantCulture, $"Serving the local clock at stratum {stratum} (local): no source selected; {reachable} of {sources} sources reachable")
                : string.Create(CultureInfo.InvariantCulture, $"Not synchronized: {reachable} of {sources} sources reachable");
        }

        string reference = tracking.ReferenceName.Length > 0 ? tracking.ReferenceName : "local reference";
        return string.Create(CultureInfo.InvariantCulture,
            $"Synchronized to {reference} at stratum {tracking.Stratum}; last offset {tracking.LastOffset:+0.000000;-0.000000} s, frequency {tracking.FrequencyPpm:+0.000;-0.000} ppm; {reachable} of {sources} sources reachable");
    }

    /// <inheritdoc/>
    public void Dispose() => _socket?.Dispose();

    private bool Send(string message)
    {
        if (_socket is null)
        {
            return false;
        }

        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(message), SocketFlags.None, _endpoint!);
            return true;
        }
        catch (SocketException)
        {
            // systemd restarted or the unit is no longer Type=notify: nothing to tell, keep serving time.
            return false;
        }
    }

    // One STATUS line: a newline would start another KEY=VALUE pair.
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
