using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tempus.Control;

namespace Tempus.Daemon.Tests;

/// <summary>
/// sd_notify(3) as tempusd speaks it: the notifier against a datagram socket standing in for systemd, and the real
/// tempusd apphost (clock control off) started with NOTIFY_SOCKET and WATCHDOG_USEC as systemd would.
/// </summary>
public sealed class SystemdNotifierTests : IDisposable
{
    // How long the real daemon may take to start, feed the watchdog, reload and stop: only a broken run waits it out,
    // and a loaded 2-core CI machine runs each step through the JIT.
    private static readonly TimeSpan s_daemonWait = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("tempusd-notify-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Socket Listen(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        byte[] buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(timeout);
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Messages until one satisfies <paramref name="until"/>; all of them, in order.</summary>
    private static async Task<List<string>> ReceiveUntilAsync(Socket socket, Func<string, bool> until, TimeSpan timeout)
    {
        var messages = new List<string>();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            TimeSpan left = timeout - clock.Elapsed;
            string message;
            try
            {
                message = await ReceiveAsync(socket, left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching notification within {timeout.TotalSeconds} s; got: {string.Join(" | ", messages)}");
            }

            messages.Add(message);
            if (until(message))
            {
                return messages;
            }
        }
    }

    [Fact]
    public async Task ReadySendsOneDatagramWithTheStatusOnOneLine()
    {
        string path = Path.Combine(_dir, "notify");
        using Socket systemd = Listen(path);
        using var notifier = SystemdNotifier.ForSocket(path);

        Assert.True(notifier.Enabled);
        Assert.True(notifier.Ready("serving\nsecond line"));

        Assert.Equal("READY=1\nSTATUS=serving second line", await ReceiveAsync(systemd, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task AnAbstractSocketNameIsReachedThroughItsNulPrefix()
    {
        string name = "tempus-test-" + Guid.NewGuid().ToString("N");
        using var systemd = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        systemd.Bind(new UnixDomainSocketEndPoint("\0" + name));
        using var notifier = SystemdNotifier.ForSocket("@" + name);

        Assert.True(notifier.Stopping());

        Assert.Equal("STOPPING=1\nSTATUS=stopping", await ReceiveAsync(systemd, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task StatusIsSentOnlyWhenItChanges()
    {
        string path = Path.Combine(_dir, "notify");
        using Socket systemd = Listen(path);
        using var notifier = SystemdNotifier.ForSocket(path);

        notifier.Status("a");
        notifier.Status("a");
        notifier.Status("b");

        Assert.Equal("STATUS=a", await ReceiveAsync(systemd, TimeSpan.FromSeconds(5)));
        Assert.Equal("STATUS=b", await ReceiveAsync(systemd, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void TheWatchdogIsFedAtHalfTheInterval()
    {
        string path = Path.Combine(_dir, "notify");
        using Socket systemd = Listen(path);
        using var notifier = SystemdNotifier.ForSocket(path, watchdogMicroseconds: 10_000_000);

        Assert.Equal(TimeSpan.FromSeconds(10), notifier.WatchdogInterval);
        Assert.True(notifier.WatchdogTick(100_000));
        Assert.False(notifier.WatchdogTick(104_999));
        Assert.True(notifier.WatchdogTick(105_000));
    }

    [Fact]
    public void WithoutAWatchdogIntervalNothingIsFed()
    {
        string path = Path.Combine(_dir, "notify");
        using Socket systemd = Listen(path);
        using var notifier = SystemdNotifier.ForSocket(path);

        Assert.Null(notifier.WatchdogInterval);
        Assert.False(notifier.WatchdogTick(1_000_000));
    }

    [Theory]
    [InlineData("relative/socket")]
    [InlineData("vsock:2:1234")]
    public void ASocketThatIsNeitherAPathNorAnAbstractNameIsReportedAndIgnored(string value)
    {
        using var notifier = SystemdNotifier.ForSocket(value);

        Assert.False(notifier.Enabled);
        Assert.False(notifier.Ready("x"));
        Assert.Contains($"NOTIFY_SOCKET '{value}'", notifier.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutNotifySocketTheNotifierIsOffAndSilent()
    {
        using var notifier = SystemdNotifier.ForSocket(null);

        Assert.False(notifier.Enabled);
        Assert.Null(notifier.Problem);
        Assert.False(notifier.Stopping());
    }

    [Fact]
    public void AGoneSocketDoesNotThrow()
    {
        string path = Path.Combine(_dir, "gone");
        using var notifier = SystemdNotifier.ForSocket(path);

        Assert.False(notifier.Ready("x"));
    }

    [Fact]
    public void TheStatusLineSaysWhetherTheClockIsSynchronized()
    {
        Assert.Equal("Not synchronized: 1 of 3 sources reachable", SystemdNotifier.DescribeTracking(new TrackingReport(), 3, 1, localStratum: null));
        Assert.Equal(
            "Serving the local clock at stratum 10 (local): no source selected; 0 of 2 sources reachable",
            SystemdNotifier.DescribeTracking(new TrackingReport(), 2, 0, localStratum: 10));

        var synced = new TrackingReport { Stratum = 2, ReferenceName = "time.example", ReferenceTimeUnixNs = 1, LastOffset = -0.0000123, FrequencyPpm = 12.5 };
        Assert.Equal(
            "Synchronized to time.example at stratum 2; last offset -0.000012 s, frequency +12.500 ppm; 3 of 3 sources reachable",
            SystemdNotifier.DescribeTracking(synced, 3, 3, localStratum: 10));
    }

    [Fact]
    public async Task TempusdNotifiesReadyFeedsTheWatchdogReloadsAndStopsAsATypeNotifyService()
    {
        string notifyPath = Path.Combine(_dir, "notify");
        using Socket systemd = Listen(notifyPath);
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        string config = Path.Combine(_dir, "tempus.conf");
        File.WriteAllText(config, string.Create(CultureInfo.InvariantCulture,
            $"port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 3\nbindcmdaddress {Path.Combine(_dir, "ctl", "tempusd.sock")}\n"));

        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "tempusd")) { RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-x");
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(config);
        info.Environment["NOTIFY_SOCKET"] = notifyPath;
        info.Environment["WATCHDOG_USEC"] = "2000000";
        info.Environment.Remove("WATCHDOG_PID");
        info.Environment.Remove("JOURNAL_STREAM");
        using var process = Process.Start(info)!;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        try
        {
            // READY=1 only once the NTP socket answers: a query right after it must get a reply.
            List<string> start = await ReceiveUntilAsync(systemd, m => m.StartsWith("READY=1", StringComparison.Ordinal), s_daemonWait);
            Assert.Contains("STATUS=Serving the local clock at stratum 3 (local): no source selected; 0 of 0 sources reachable", start[^1], StringComparison.Ordinal);
            using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                byte[] request = new byte[48];
                request[0] = 0x23;
                client.ReceiveTimeout = (int)s_daemonWait.TotalMilliseconds;
                client.SendTo(request, new IPEndPoint(IPAddress.Loopback, port));
                Assert.Equal(48, client.Receive(new byte[128]));
            }

            // WATCHDOG_USEC=2 s: fed at least once a second from the engine's loop.
            await ReceiveUntilAsync(systemd, m => m == "WATCHDOG=1", s_daemonWait);

            Process.Start("kill", ["-HUP", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            List<string> reload = await ReceiveUntilAsync(systemd, m => m.StartsWith("RELOADING=1", StringComparison.Ordinal), s_daemonWait);
            Assert.Matches(@"^RELOADING=1\nMONOTONIC_USEC=\d+$", reload[^1]);
            await ReceiveUntilAsync(systemd, m => m.StartsWith("READY=1", StringComparison.Ordinal), s_daemonWait);

            Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            await ReceiveUntilAsync(systemd, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal), s_daemonWait);
            using var exit = new CancellationTokenSource(s_daemonWait);
            await process.WaitForExitAsync(exit.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
