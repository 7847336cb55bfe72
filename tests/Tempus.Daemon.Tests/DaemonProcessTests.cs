using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Control;
using Tempus.Ntp;
using Tempus.Server;

namespace Tempus.Daemon.Tests;

/// <summary>The real tempusd apphost on loopback, with clock control off.</summary>
public sealed class DaemonProcessTests : IDisposable
{
    // Bounds on what must happen (start, reload, stop, an answer); generous because a loaded 2-core CI machine
    // runs the daemon's first requests and reloads through the JIT, and none of them is ever waited out on success.
    private static readonly TimeSpan s_processWait = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan s_answerWait = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("tempusd-process-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static async Task<Process> StartAsync(string config, List<string> log)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "tempusd");
        Assert.True(File.Exists(path), $"tempusd apphost not found at {path}");
        var info = new ProcessStartInfo(path) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-x");
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(config);
        var process = Process.Start(info)!;
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (log)
            {
                log.Add(e.Data);
            }

            if (e.Data.Contains("listening on", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        };
        process.BeginErrorReadLine();
        await listening.Task.WaitAsync(s_processWait);
        return process;
    }

    private static async Task<int> StopAsync(Process process)
    {
        Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        using var timeout = new CancellationTokenSource(s_processWait);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    private static async Task<NtpQueryResult> QueryAsync(int port, string keyFile, uint keyId, TimeSpan? timeout = null)
    {
        using var ring = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        Assert.True(ring.TryGetKey(keyId, out SymmetricKey? key));
        return await new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", port, key, timeout ?? s_answerWait, CancellationToken.None);
    }

    [Fact]
    public async Task SighupReloadsTheKeyFileWithoutARestart()
    {
        int port = FreeUdpPort();
        string keys = Path.Combine(_dir, "keys");
        string clientKeys = Path.Combine(_dir, "client.keys");
        File.WriteAllText(keys, "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n");
        File.WriteAllText(clientKeys, "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n12 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        File.SetUnixFileMode(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(clientKeys, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string config = Path.Combine(_dir, "tempus.conf");
        File.WriteAllText(config, $"bindaddress 127.0.0.1\nport {port}\nallow 127.0.0.1\nlocal stratum 5\nkeyfile {keys}\nbindcmdaddress {Path.Combine(_dir, "tempusd.sock")}\n");
        var log = new List<string>();
        using Process daemon = await StartAsync(config, log);
        try
        {
            Assert.Equal(11u, (await QueryAsync(port, clientKeys, 11)).KeyId);
            NtpQueryException before = await Assert.ThrowsAsync<NtpQueryException>(() => QueryAsync(port, clientKeys, 12, TimeSpan.FromSeconds(1)));
            Assert.Equal(NtpQueryError.Timeout, before.Error);

            File.WriteAllText(keys, File.ReadAllText(clientKeys));
            Process.Start("kill", ["-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

            // Until the reload is done, a query with key 12 goes unanswered: short attempts, retried.
            NtpQueryResult after = await RetryAsync(() => QueryAsync(port, clientKeys, 12, TimeSpan.FromSeconds(1)));
            Assert.Equal(12u, after.KeyId);

            // A broken key file on reload keeps the keys in service.
            File.WriteAllText(keys, "12 AES128 HEX:00\n");
            Process.Start("kill", ["-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            await RetryAsync(() => Task.FromResult(log.Any(l => l.Contains("reload failed", StringComparison.Ordinal)) ? 0 : throw new InvalidOperationException("no reload failure logged")));
            Assert.Equal(12u, (await QueryAsync(port, clientKeys, 12)).KeyId);
        }
        finally
        {
            Assert.Equal(0, await StopAsync(daemon));
        }

        Assert.Contains(log, l => l.Contains("tempusd stopping", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RekeyAndSighupMoveASymmetricKeySourceToTheReloadedKeyAndAWithdrawnKeyStopsIt()
    {
        string keys = Path.Combine(_dir, "keys");
        File.WriteAllText(keys, "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        File.SetUnixFileMode(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using KeyRing serverOld = KeyRing.Load(keys, new List<KeyFileWarning>());
        var access = new AccessRules();
        access.Add(true, false, null);
        var engine = new NtpServerEngine(RealtimeClock.Instance, serverOld, access, false, now => ReferenceState.Local(2, now));
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
        server.Start();
        int port = FreeUdpPort();
        string socket = Path.Combine(_dir, "tempusd.sock");
        string config = Path.Combine(_dir, "tempus.conf");
        File.WriteAllText(
            config,
            $"bindaddress 127.0.0.1\nport {port}\nallow 127.0.0.1\nkeyfile {keys}\nbindcmdaddress {socket}\n" +
            $"server 127.0.0.1 port {server.LocalEndpoints[0].Port} key 21 minpoll -2 maxpoll -1\n");
        var log = new List<string>();
        using Process daemon = await StartAsync(config, log);
        try
        {
            var control = new ControlClient(socket);
            await RetryAsync(() => Task.FromResult(engine.Counters.Authenticated >= 2 ? 0 : throw new InvalidOperationException("no authenticated request yet")));

            // Both sides rotate the secret of key 21; tempusctl rekey moves the source to the new one.
            File.WriteAllText(keys, "21 AES128 HEX:F0E0D0C0B0A090807060504030201000\n");
            using KeyRing serverNew = KeyRing.Load(keys, new List<KeyFileWarning>());
            engine.ReplaceKeys(serverNew);
            await control.RekeyAsync();
            long atRekey = engine.Counters.Authenticated;
            await RetryAsync(() => Task.FromResult(engine.Counters.Authenticated >= atRekey + 2 ? 0 : throw new InvalidOperationException("no request with the new key")));

            // A key file that does not parse changes nothing: the error names file and line, the new key stays.
            File.WriteAllText(keys, "21 AES128 HEX:00\n");
            Process.Start("kill", ["-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            await RetryAsync(() => Task.FromResult(Logged(log, "reload failed") ? 0 : throw new InvalidOperationException("no reload failure logged")));
            Assert.True(Logged(log, keys + ":1:"), "the reload failure names the key file and line");
            long atBroken = engine.Counters.Authenticated;
            await RetryAsync(() => Task.FromResult(engine.Counters.Authenticated >= atBroken + 2 ? 0 : throw new InvalidOperationException("the source stopped after a broken reload")));

            // Key 21 withdrawn (SIGHUP): a warning names it and the file, authdata shows it, and nothing is sent.
            File.WriteAllText(keys, "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n");
            Process.Start("kill", ["-HUP", daemon.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            await RetryAsync(() => Task.FromResult(Logged(log, "uses key 21, which is not in the key file " + keys) ? 0 : throw new InvalidOperationException("no warning about key 21")));
            SourceReport source = Assert.Single(await control.GetSourcesAsync());
            Assert.Equal(21u, source.KeyId);
            Assert.Equal(0, source.KeyBits);
            Assert.Equal("", source.KeyType);
            Assert.Contains("key 21", source.LastAuthenticationError, StringComparison.Ordinal);
            Assert.Contains("it sends nothing", source.LastAuthenticationError, StringComparison.Ordinal);

            // The report above was made after the withdrawal, so its count of requests is final; one sent just before
            // may still wait in this server's socket (under load, longer than any fixed pause). The daemon is the
            // server's only client: once the server has counted that many, nothing is in flight.
            await RetryAsync(() => Task.FromResult(engine.Counters.Received >= source.TotalTx ? 0 : throw new InvalidOperationException($"the server counted {engine.Counters.Received} of {source.TotalTx} requests")));
            long received = engine.Counters.Received;
            Assert.Equal(source.TotalTx, received);
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            Assert.Equal(received, engine.Counters.Received);
            Assert.Equal(source.TotalTx, Assert.Single(await control.GetSourcesAsync()).TotalTx);
        }
        finally
        {
            Assert.Equal(0, await StopAsync(daemon));
        }
    }

    private static bool Logged(List<string> log, string text)
    {
        lock (log)
        {
            return log.Any(l => l.Contains(text, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task BadConfigurationStopsTheDaemonWithEveryError()
    {
        string config = Path.Combine(_dir, "bad.conf");
        File.WriteAllText(config, "port abc\nwat\n");
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "tempusd")) { RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-x");
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(config);
        using Process process = Process.Start(info)!;
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);
        Assert.Contains($"{config}:1: port: bad port 'abc'", stderr, StringComparison.Ordinal);
        Assert.Contains($"{config}:2: unknown directive 'wat'", stderr, StringComparison.Ordinal);
    }

    // Repeats until the action succeeds; the last failure is the test's failure. The deadline (not a count of
    // attempts, which was 5 s in all) only bounds a broken run: a loaded CI machine starts and reloads slowly.
    private static async Task<T> RetryAsync<T>(Func<Task<T>> action)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await action();
            }
            catch (Exception) when (deadline.Elapsed < s_processWait)
            {
                await Task.Delay(250);
            }
        }
    }
}
