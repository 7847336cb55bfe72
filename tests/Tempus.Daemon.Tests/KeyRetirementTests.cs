using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Control;
using Tempus.Ntp;
using Tempus.Server;
using Tempus.Sources;

namespace Tempus.Daemon.Tests;

/// <summary>
/// The symmetric key rings that reloads (SIGHUP, <c>tempusctl rekey</c>) replace: each stays usable for
/// <see cref="DaemonHost.KeyRetirementDelay"/> and is then wiped, every one left is wiped at exit, and the ring in
/// service never is. The host runs in-process with clock control off; the retirement timers run on a fake clock, the
/// sources on the real one against a server on loopback.
/// </summary>
public sealed class KeyRetirementTests : IAsyncLifetime
{
    // Bounds a wait for authenticated answers on loopback; never waited out on success. The wipes need no wait: the
    // fake clock runs the retirement timers within Advance.
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_justUnder = TimeSpan.FromTicks(1);

    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-key-retirement-").FullName;
    private readonly FakeTimeProvider _time = new();
    private readonly MessageLog _log = new();
    private readonly List<IAsyncDisposable> _hosts = [];
    private readonly List<IDisposable> _owned = [];

    private string KeyFile => Path.Combine(_dir, "tempus.keys");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (IAsyncDisposable host in _hosts)
        {
            await host.DisposeAsync();
        }

        foreach (IDisposable each in _owned)
        {
            each.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task TheRingAReloadReplacesIsKeptUntilItsRetirementDelayHasPassedAndThenWiped()
    {
        WriteKeyFile(generation: 0);
        (DaemonHost host, KeyRing startUp) = CreateHost(sourcePort: null);
        Assert.Same(startUp, host.KeysInService);

        WriteKeyFile(generation: 1);
        await host.RekeyAsync(CancellationToken.None);
        KeyRing reloaded = InService(host);
        Assert.NotSame(startUp, reloaded);

        _time.Advance(DaemonHost.KeyRetirementDelay - s_justUnder);
        AssertUsable(startUp, "the replaced ring just before its delay is over");

        _time.Advance(s_justUnder);
        Assert.True(IsWiped(startUp), "the replaced ring is wiped once its delay is over");
        AssertUsable(reloaded, "the ring in service");
        Assert.Same(reloaded, host.KeysInService);
    }

    [Fact]
    public async Task TwoReloadsInARowWipeBothOlderRingsInTheirTurnWhileTheSourceKeepsSigningWithTheRingInService()
    {
        using var lab = new LabServer(_dir);
        WriteKeyFile(generation: 0);
        lab.UseKeys(KeyFile);
        (DaemonHost host, KeyRing first) = CreateHost(sourcePort: lab.Port);
        await host.StartSourcesAsync(CancellationToken.None);
        await lab.WaitForAuthenticatedRequestsAsync(2, "the source's first authenticated requests");

        // Both sides rotate the secret of key 21; a reload moves the source to it.
        WriteKeyFile(generation: 1);
        lab.UseKeys(KeyFile);
        await host.RekeyAsync(CancellationToken.None);
        KeyRing second = InService(host);
        await lab.WaitForAuthenticatedRequestsAsync(2, "requests signed with the second ring");

        TimeSpan half = DaemonHost.KeyRetirementDelay / 2;
        _time.Advance(half);
        WriteKeyFile(generation: 2);
        lab.UseKeys(KeyFile);
        await host.RekeyAsync(CancellationToken.None);
        KeyRing third = InService(host);
        AssertUsable(first, "the first ring, half way through its delay");
        AssertUsable(second, "the second ring, just replaced");

        // The first ring's delay is over, the second's is half way.
        _time.Advance(half);
        Assert.True(IsWiped(first), "the first ring is wiped when its delay is over");
        AssertUsable(second, "the second ring half way through its delay");
        AssertUsable(third, "the ring in service");

        _time.Advance(half);
        Assert.True(IsWiped(second), "the second ring is wiped when its delay is over");
        AssertUsable(third, "the ring in service");
        Assert.Same(third, host.KeysInService);

        // What the source signs with is the ring in service: its requests still verify at the server (which only
        // has the third secret) and their answers at the source.
        Assert.True(third.TryGetKey(21, out SymmetricKey? current));
        NtpSource source = Assert.Single(host.Sources.Sources);
        Assert.Same(current, ((SymmetricKeyAuthenticator)source.Authenticator).Key);
        long acceptedBefore = AcceptedBy(host, source);
        await lab.WaitForAuthenticatedRequestsAsync(2, "requests signed with the third ring after the older rings were wiped");
        await WaitUntilAsync(() => AcceptedBy(host, source) >= acceptedBefore + 2, "the source accepts the answers to them");
    }

    [Fact]
    public async Task AtExitEveryRetiredRingIsWipedBeforeItsDelayIsOver()
    {
        WriteKeyFile(generation: 0);
        (DaemonHost host, KeyRing startUp) = CreateHost(sourcePort: null);
        WriteKeyFile(generation: 1);
        await host.RekeyAsync(CancellationToken.None);
        KeyRing second = InService(host);
        WriteKeyFile(generation: 2);
        await host.RekeyAsync(CancellationToken.None);
        KeyRing third = InService(host);

        _time.Advance(DaemonHost.KeyRetirementDelay - s_justUnder);
        AssertUsable(startUp, "the start-up ring before its delay is over");
        AssertUsable(second, "the second ring before its delay is over");

        await DisposeHostAsync(host);
        Assert.True(IsWiped(startUp), "the start-up ring, retired by the first reload, is wiped at exit");
        Assert.True(IsWiped(second), "the second ring, retired by the second reload, is wiped at exit");
        Assert.True(IsWiped(third), "the ring a reload put in service is wiped at exit");
    }

    [Fact]
    public async Task AStartUpRingThatNoReloadReplacedIsLeftToTheCallerAtExit()
    {
        WriteKeyFile(generation: 0);
        (DaemonHost host, KeyRing startUp) = CreateHost(sourcePort: null);
        await DisposeHostAsync(host);

        // Daemon.RunAsync disposes it after the host; until then it is the caller's.
        AssertUsable(startUp, "the start-up ring still in service at exit");
    }

    [Fact]
    public async Task AFailedReloadRetiresNothing()
    {
        WriteKeyFile(generation: 0);
        (DaemonHost host, KeyRing startUp) = CreateHost(sourcePort: null);

        File.WriteAllText(KeyFile, "21 AES128 HEX:00\n");
        await host.RekeyAsync(CancellationToken.None);
        Assert.True(_log.Contains("reload failed"), "the broken key file was reported");
        Assert.Same(startUp, host.KeysInService);
        _time.Advance(DaemonHost.KeyRetirementDelay * 2);
        AssertUsable(startUp, "the start-up ring after a failed reload and twice the delay");

        // A good reload then retires it, and a failed one after it leaves the new ring in service.
        WriteKeyFile(generation: 1);
        await host.RekeyAsync(CancellationToken.None);
        KeyRing reloaded = InService(host);
        File.WriteAllText(KeyFile, "21 AES128 HEX:00\n");
        await host.RekeyAsync(CancellationToken.None);
        Assert.Same(reloaded, host.KeysInService);
        _time.Advance(DaemonHost.KeyRetirementDelay * 2);
        Assert.True(IsWiped(startUp), "the ring the good reload replaced is wiped");
        AssertUsable(reloaded, "the ring in service after a failed reload and twice the delay");
    }

    [Fact]
    public async Task ASecondReloadWaitsUntilTheFirstHasPutItsRingInServiceAndEndsWithItsOwnRingInService()
    {
        WriteKeyFile(generation: 0);
        (DaemonHost host, KeyRing startUp) = CreateHost(sourcePort: null);
        var loaded = new List<KeyRing?>();
        int inside = 0;
        int overlaps = 0;
        using var firstHeld = new ManualResetEventSlim();
        using var releaseFirst = new ManualResetEventSlim();
        host.ReloadKeysLoaded = ring =>
        {
            // Between reading the key file and putting its ring in service.
            if (Interlocked.Increment(ref inside) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            int count;
            lock (loaded)
            {
                loaded.Add(ring);
                count = loaded.Count;
            }

            if (count == 1)
            {
                firstHeld.Set();
                Assert.True(releaseFirst.Wait(s_wait), "the test released the first reload");
            }

            Interlocked.Decrement(ref inside);
        };

        WriteKeyFile(generation: 1);
        Task first = Task.Factory.StartNew(host.Reload, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(firstHeld.Wait(s_wait), "the first reload read the key file");

        // The key file changes again and a second reload comes (SIGHUP while tempusctl rekey runs): it must wait for
        // the first, blocked on the reload lock, instead of reading the file and racing it to put its ring in service.
        WriteKeyFile(generation: 2);
        Exception? secondFailed = null;
        var second = new Thread(() =>
        {
            try
            {
                host.Reload();
            }
            catch (Exception e)
            {
                secondFailed = e;
            }
        });
        second.Start();
        await WaitUntilAsync(() => LoadedCount(loaded) > 1 || (second.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0, "the second reload either blocks or reads the key file");
        Assert.True(LoadedCount(loaded) == 1, "the second reload read the key file while the first was still putting its ring in service");
        Assert.Same(startUp, host.KeysInService);

        releaseFirst.Set();
        await first.WaitAsync(s_wait);
        Assert.True(second.Join(s_wait), "the second reload finished");
        Assert.Null(secondFailed);
        Assert.Equal(0, Volatile.Read(ref overlaps));
        Assert.Equal(2, LoadedCount(loaded));
        KeyRing firstRing = loaded[0] ?? throw new InvalidOperationException("the first reload loaded no ring");
        KeyRing secondRing = loaded[1] ?? throw new InvalidOperationException("the second reload loaded no ring");
        Assert.NotSame(firstRing, secondRing);
        Assert.Same(secondRing, host.KeysInService);

        // Both rings replaced in turn (the start-up one by the first reload, the first reload's by the second) are
        // retired and wiped; the second reload's stays.
        _time.Advance(DaemonHost.KeyRetirementDelay);
        Assert.True(IsWiped(startUp), "the start-up ring, replaced by the first reload, is wiped");
        Assert.True(IsWiped(firstRing), "the first reload's ring, replaced by the second, is wiped");
        AssertUsable(secondRing, "the second reload's ring, in service");
    }

    [Fact]
    public async Task AReloadBeforeTheServersStartIsWhatTheServerStartsWithAndTheRingItReplacedIsWiped()
    {
        DaemonHost host;
        KeyRing startUp;
        KeyRing reloaded;
        int port;
        Task<int> run;
        NtpQueryResult? answer;
        using KeyRing startUpCopy = ClientCopyOfKeyFile("client-0.keys", generation: 0);
        using KeyRing reloadedCopy = ClientCopyOfKeyFile("client-1.keys", generation: 1);
        Assert.True(reloadedCopy.TryGetKey(21, out SymmetricKey? current));
        for (int attempt = 1; ; attempt++)
        {
            WriteKeyFile(generation: 0);
            port = FreeUdpPort();
            (host, startUp) = CreateHost(sourcePort: null, $"bindaddress 127.0.0.1\nport {port}\nallow 127.0.0.1\nlocal stratum 5\nbindcmdaddress /\n");

            // What the SIGHUP handler does; RunAsync registers it before it starts the servers, so one can come first.
            WriteKeyFile(generation: 1);
            host.Reload();
            reloaded = InService(host);
            Assert.NotSame(startUp, reloaded);

            run = Task.Run(() => host.RunAsync(null));
            answer = await QueryUntilAnsweredAsync(port, current, run);
            if (answer is not null)
            {
                break;
            }

            // The free port was taken by another process before the server bound it: again on another one.
            await DisposeHostAsync(host);
            Assert.True(attempt < 3 && _log.Contains($"cannot bind NTP server to 127.0.0.1:{port}"), $"tempusd stopped before answering: {_log.All()}");
        }

        Assert.Equal(AuthenticationMode.SymmetricKey, answer.Authentication);
        Assert.Equal(21u, answer.KeyId);

        // A request signed with the start-up ring's key 21 does not verify: the server never had that ring.
        ServerStatsReport before = await host.GetServerStatsAsync(CancellationToken.None);
        Assert.True(startUpCopy.TryGetKey(21, out SymmetricKey? replaced));
        await Assert.ThrowsAsync<NtpQueryException>(() => new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", port, replaced, TimeSpan.FromSeconds(1), CancellationToken.None));
        await WaitUntilAsync(() => host.GetServerStatsAsync(CancellationToken.None).Result.NtpPacketsDropped > before.NtpPacketsDropped, "the server drops the request signed with the replaced ring");
        Assert.Equal(before.AuthenticatedNtpPackets, (await host.GetServerStatsAsync(CancellationToken.None)).AuthenticatedNtpPackets);

        // The start-up ring was retired by that reload and is wiped in its turn; the server goes on with the other.
        _time.Advance(DaemonHost.KeyRetirementDelay);
        Assert.True(IsWiped(startUp), "the start-up ring the early reload replaced is wiped");
        AssertUsable(reloaded, "the ring the server started with");
        answer = await QueryUntilAnsweredAsync(port, current, run);
        Assert.Equal(AuthenticationMode.SymmetricKey, answer?.Authentication);

        host.Stop();
        Assert.Equal(0, await run.WaitAsync(s_wait));
    }

    [Fact]
    public async Task ExitWaitsForAReloadInProgressAndThenWipesTheRingItPutInService()
    {
        WriteKeyFile(generation: 0);
        (DaemonHost host, KeyRing startUp) = CreateHost(sourcePort: null);
        KeyRing? loaded = null;
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        host.ReloadKeysLoaded = ring =>
        {
            loaded = ring;
            held.Set();
            Assert.True(release.Wait(s_wait), "the test released the reload");
        };

        WriteKeyFile(generation: 1);
        Task reload = Task.Factory.StartNew(host.Reload, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(held.Wait(s_wait), "the reload read the key file");

        // tempusd exits (DisposeAsync) while the reload is between reading the file and putting its ring in service.
        _hosts.Remove(host);
        Exception? disposeFailed = null;
        var exit = new Thread(() =>
        {
            try
            {
                host.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                disposeFailed = e;
            }
        });
        exit.Start();
        await WaitUntilAsync(() => !exit.IsAlive || (exit.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0, "the exit either blocks or ends");
        Assert.True(exit.IsAlive, "the exit went on while a reload was putting a ring in service");

        release.Set();
        await reload.WaitAsync(s_wait);
        Assert.True(exit.Join(s_wait), "the exit finished after the reload");
        Assert.Null(disposeFailed);
        KeyRing reloaded = loaded ?? throw new InvalidOperationException("the reload loaded no ring");
        Assert.True(IsWiped(reloaded), "the ring the reload put in service just before the exit is wiped at exit");
        Assert.True(IsWiped(startUp), "the start-up ring the reload retired is wiped at exit");
        Assert.Null(host.KeysInService);
    }

    [Fact]
    public async Task AReloadAfterExitLoadsNoKeysAndThrowsNothing()
    {
        WriteKeyFile(generation: 0);
        (DaemonHost host, _) = CreateHost(sourcePort: null);
        int loads = 0;
        host.ReloadKeysLoaded = _ => Interlocked.Increment(ref loads);
        await DisposeHostAsync(host);

        // A SIGHUP handler queued just as RunAsync returned runs after the host is gone: a ring loaded now would
        // never be wiped.
        WriteKeyFile(generation: 1);
        host.Reload();
        await host.RekeyAsync(CancellationToken.None);
        Assert.Equal(0, Volatile.Read(ref loads));
        Assert.Null(host.KeysInService);
        Assert.False(_log.Contains("reloaded"), "a reload after exit said it reloaded");

        // A second DisposeAsync (Daemon's await using after an explicit one) does nothing either.
        await host.DisposeAsync();
    }

    private static int LoadedCount(List<KeyRing?> loaded)
    {
        lock (loaded)
        {
            return loaded.Count;
        }
    }

    // The key file of a generation as a client configured by hand has it.
    private KeyRing ClientCopyOfKeyFile(string name, int generation)
    {
        WriteKeyFile(generation);
        string copy = Path.Combine(_dir, name);
        File.Copy(KeyFile, copy, overwrite: true);
        return KeyRing.Load(copy, new List<KeyFileWarning>());
    }

    private static int FreeUdpPort()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    // Until the host's server answers (it starts within RunAsync); null once RunAsync has returned.
    private static async Task<NtpQueryResult?> QueryUntilAnsweredAsync(int port, SymmetricKey key, Task<int> run)
    {
        var client = new NtpClient(RealtimeClock.Instance);
        var deadline = Stopwatch.StartNew();
        while (!run.IsCompleted)
        {
            try
            {
                return await client.QueryAsync("127.0.0.1", port, key, TimeSpan.FromSeconds(1), CancellationToken.None);
            }
            catch (NtpQueryException) when (deadline.Elapsed < s_wait)
            {
                // Not listening yet, or the answer was lost: ask again.
            }
        }

        return null;
    }

    private (DaemonHost Host, KeyRing StartUp) CreateHost(int? sourcePort, string extraConfig = "")
    {
        string config = Path.Combine(_dir, "tempus.conf");
        string source = sourcePort is { } port ? $"server 127.0.0.1 port {port} key 21 minpoll -2 maxpoll -1\n" : "";
        File.WriteAllText(config, $"keyfile {KeyFile}\n{source}{extraConfig}");
        TempusConfiguration parsed = ConfigParser.Load(config);
        KeyRing startUp = Daemon.LoadKeys(parsed, NullLogger.Instance);
        _owned.Add(startUp);
        var host = new DaemonHost(DaemonOptions.Parse(["-x", "-f", config]), parsed, startUp, _log, virtualClock: true, _time);
        _hosts.Add(host);
        return (host, startUp);
    }

    private async Task DisposeHostAsync(DaemonHost host)
    {
        _hosts.Remove(host);
        await host.DisposeAsync();
    }

    private void WriteKeyFile(int generation)
    {
        // Each generation its own secrets, so a request signed with another generation's key does not verify.
        string aes = Convert.ToHexString(Enumerable.Range(generation * 16, 16).Select(i => (byte)i).ToArray());
        string sha = Convert.ToHexString(Enumerable.Range(100 + (generation * 20), 20).Select(i => (byte)i).ToArray());
        File.WriteAllText(KeyFile, $"21 AES128 HEX:{aes}\n11 SHA1 HEX:{sha}\n");
        File.SetUnixFileMode(KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static KeyRing InService(DaemonHost host) =>
        host.KeysInService ?? throw new InvalidOperationException("no key ring in service");

    private static bool IsWiped(KeyRing ring) => ring.Count > 0 && ring.Keys.All(k => k.IsDisposed);

    private static void AssertUsable(KeyRing ring, string which)
    {
        foreach (SymmetricKey key in ring.Keys)
        {
            Assert.False(key.IsDisposed, $"{which}: {key} was wiped");
        }
    }

    private static long AcceptedBy(DaemonHost host, NtpSource source)
    {
        lock (host.SyncRoot)
        {
            return source.TotalValidRx;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < s_wait, $"not within {s_wait.TotalSeconds} s: {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>An NTP server on loopback with its own copy of the key file, as a peer configured by hand.</summary>
    private sealed class LabServer : IDisposable
    {
        private readonly string _keyFile;
        private readonly List<KeyRing> _rings = [];
        private readonly NtpServerEngine _engine;
        private readonly UdpNtpServer _server;
        private long _counted;

        public LabServer(string directory)
        {
            _keyFile = Path.Combine(directory, "lab.keys");
            var access = new AccessRules();
            access.Add(true, false, null);
            _engine = new NtpServerEngine(RealtimeClock.Instance, null, access, false, now => ReferenceState.Local(2, now));
            _server = new UdpNtpServer(_engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
            _server.Start();
        }

        public int Port => _server.LocalEndpoints[0].Port;

        public void UseKeys(string keyFile)
        {
            File.Copy(keyFile, _keyFile, overwrite: true);
            KeyRing ring = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
            _rings.Add(ring);
            _engine.ReplaceKeys(ring);
            _counted = _engine.Counters.Authenticated;
        }

        // Requests since the last UseKeys (or the last wait) that verified with the server's keys and were answered.
        public async Task WaitForAuthenticatedRequestsAsync(int count, string what)
        {
            long from = _counted;
            await WaitUntilAsync(() => _engine.Counters.Authenticated >= from + count, what);
            _counted = _engine.Counters.Authenticated;
        }

        public void Dispose()
        {
            _server.Dispose();
            foreach (KeyRing ring in _rings)
            {
                ring.Dispose();
            }
        }
    }
}
