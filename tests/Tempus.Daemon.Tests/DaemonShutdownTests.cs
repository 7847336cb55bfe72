using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Discipline;
using Tempus.Ntp;

namespace Tempus.Daemon.Tests;

/// <summary>
/// How an in-process tempusd (clock control off) stops: as SIGTERM does (<see cref="DaemonHost.Stop"/>), whether it
/// comes once the NTP server answers or before <see cref="DaemonHost.RunAsync"/> has started anything.
/// </summary>
public sealed class DaemonShutdownTests : IDisposable
{
    // Bounds waits for the server on loopback; never waited out on success.
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("tempusd-shutdown-").FullName;
    private readonly MessageLog _log = new();

    private string DriftPath => Path.Combine(_dir, "tempus.drift");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AStopEndsRunWithExitCodeZeroSavesTheDriftFileAndClosesTheServersSocketAtDisposal()
    {
        // The frequency read at start-up is what is saved at exit when nothing corrected it meanwhile.
        DriftFile.Write(DriftPath, 12.345, 0.5);
        (DaemonHost host, int port, Task<int> run) = await StartAnsweringAsync();
        try
        {
            Assert.True(_log.Contains("frequency 12.345 ppm read from"), _log.All());

            File.Delete(DriftPath);
            host.Stop();
            Assert.Equal(0, await run.WaitAsync(s_wait));
            DriftFileReading saved = DriftFile.Read(DriftPath);
            Assert.True(saved.IsValid, $"the drift file saved at exit: {saved.Error}");
            Assert.Equal(12.345, saved.ClockFrequencyPpm, 6);
            Assert.True(_log.Contains("tempusd stopping: "), _log.All());
        }
        finally
        {
            await host.DisposeAsync();
        }

        // The server's socket is closed: the port can be bound again (the server's sockets use SO_REUSEPORT, this
        // one does not, so it would fail while any of them is open).
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task AStopThatComesBeforeRunHasStartedAnythingStillEndsRunWithExitCodeZeroAndSavesTheDriftFile()
    {
        DriftFile.Write(DriftPath, -3.25, 0.5);
        DaemonHost host = CreateHost(port: 0); // No NTP server: nothing to bind, nothing to collide with.
        try
        {
            // SIGTERM during start-up: RunAsync registers its handler first, so the stop is seen, not lost.
            host.Stop();
            File.Delete(DriftPath);
            Assert.Equal(0, await host.RunAsync(null).WaitAsync(s_wait));
            DriftFileReading saved = DriftFile.Read(DriftPath);
            Assert.True(saved.IsValid, $"the drift file saved at exit: {saved.Error}");
            Assert.Equal(-3.25, saved.ClockFrequencyPpm, 6);
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    [Fact]
    public async Task AStopDuringStartUpWithTheMetricsEndpointConfiguredStillEndsRunWithExitCodeZero()
    {
        DaemonHost host = CreateHost(port: 0, $"metricsaddress 127.0.0.1:{FreeTcpPort()}\n");
        try
        {
            host.Stop();
            Assert.Equal(0, await host.RunAsync(null).WaitAsync(s_wait));
            Assert.True(File.Exists(DriftPath), "the drift file is saved at exit");
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    private DaemonHost CreateHost(int port, string extraConfig = "")
    {
        string config = Path.Combine(_dir, "tempus.conf");
        File.WriteAllText(config, $"bindaddress 127.0.0.1\nport {port}\nallow 127.0.0.1\nlocal stratum 5\nbindcmdaddress /\ndriftfile {DriftPath}\n{extraConfig}");
        TempusConfiguration parsed = ConfigParser.Load(config);
        return new DaemonHost(DaemonOptions.Parse(["-x", "-f", config]), parsed, null, _log, virtualClock: true);
    }

    // A free port is only free until bound: another test process on the machine may take it first, in which case
    // RunAsync fails with 'cannot bind' and the host is tried again on another one (three times at most).
    private async Task<(DaemonHost Host, int Port, Task<int> Run)> StartAnsweringAsync()
    {
        for (int attempt = 1; ; attempt++)
        {
            int port = FreeUdpPort();
            DaemonHost host = CreateHost(port);
            Task<int> run = Task.Run(() => host.RunAsync(null));
            if (await QueryUntilAnsweredAsync(port, run))
            {
                return (host, port, run);
            }

            await host.DisposeAsync();
            Assert.True(attempt < 3 && _log.Contains($"cannot bind NTP server to 127.0.0.1:{port}"), $"tempusd stopped before answering: {_log.All()}");
        }
    }

    private static int FreeTcpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    // Until the host's server answers (it starts within RunAsync): true, or false once RunAsync has returned.
    private static async Task<bool> QueryUntilAnsweredAsync(int port, Task<int> run)
    {
        var client = new NtpClient(RealtimeClock.Instance);
        var deadline = Stopwatch.StartNew();
        while (!run.IsCompleted)
        {
            try
            {
                await client.QueryAsync("127.0.0.1", port, null, TimeSpan.FromSeconds(1), CancellationToken.None);
                return true;
            }
            catch (NtpQueryException) when (deadline.Elapsed < s_wait)
            {
                // Not listening yet, or the answer was lost: ask again.
            }
        }

        return false;
    }
}
