using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Control;
using Tempus.Nts;
using Tempus.Selection;
using Tempus.Server;
using Tempus.Sources;
using Tempus.Sources.Network;
using Tempus.Tests.Nts.Ke;
using Tempus.Tests.Tls;
using Tempus.Tls;

namespace Tempus.Tests.Sources.Network;

/// <summary>
/// The source driver over loopback against the real in-process NTP server engine and NTS-KE server: plain,
/// symmetric-key and NTS sources get samples; certificate sets, nocerttimecheck N, DNS failures, pools and the
/// ntsdumpdir session store behave as documented on <see cref="SourceManager"/>. Polls are 1/4 s apart (minpoll −2)
/// and every wait is bounded (30 s) without asserting durations.
/// </summary>
public sealed class SourceManagerTests : IClassFixture<TestPki>, IDisposable
{
    private readonly TestPki _pki;
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-srcmgr-").FullName;
    private readonly object _syncRoot = new();
    private readonly ConcurrentDictionary<string, int> _updates = new();
    private readonly ConcurrentQueue<string> _added = new();
    private readonly ConcurrentQueue<string> _removed = new();
    private long _clockUpdates;
    private int _eventsOutsideLock;

    public SourceManagerTests(TestPki pki) => _pki = pki;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SourceDefinition Server(string host, int port) => new()
    {
        Kind = SourceKind.Server,
        Host = host,
        Port = port,
        MinPoll = -2,
        MaxPoll = -1,
    };

    private SourceManager Create(TempusConfiguration configuration, KeyRing? keys = null, ILogger? logger = null)
    {
        var manager = new SourceManager(configuration, RealtimeClock.Instance, () => Interlocked.Read(ref _clockUpdates), _syncRoot, logger ?? NullLogger.Instance, keys)
        {
            ResolveRetryInitialDelay = TimeSpan.FromMilliseconds(50),
        };
        manager.SourceUpdated += source =>
        {
            CheckLockHeld();
            _updates.AddOrUpdate(source.Name, 1, (_, n) => n + 1);
        };
        manager.SourceAdded += source =>
        {
            CheckLockHeld();
            _added.Enqueue(source.Name);
        };
        manager.SourceRemoved += source =>
        {
            CheckLockHeld();
            _removed.Enqueue(source.Name);
        };
        return manager;
    }

    private void CheckLockHeld()
    {
        if (!Monitor.IsEntered(_syncRoot))
        {
            Interlocked.Increment(ref _eventsOutsideLock);
        }
    }

    private int Updates(string name) => _updates.TryGetValue(name, out int n) ? n : 0;

    private static UdpNtpServer StartNtpServer(KeyRing? keys = null, NtsServerKeyRing? ntsKeys = null) => StartNtpServer(keys, ntsKeys, out _);

    private static UdpNtpServer StartNtpServer(KeyRing? keys, NtsServerKeyRing? ntsKeys, out NtpServerEngine engine)
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        engine = new NtpServerEngine(RealtimeClock.Instance, keys, access, false, now => ReferenceState.Local(2, now), ntsKeys);
        var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
        server.Start();
        return server;
    }

    private SourceReport Report(NtpSource source)
    {
        lock (_syncRoot)
        {
            return source.Report(RealtimeClock.Instance.UnixNanoseconds);
        }
    }

    private static NtpSource Single(SourceManager manager) => Assert.Single(manager.Sources);

    /// <summary>An NTS-KE server with a certificate of the test PKI, whose Server record sends NTP to 127.0.0.1.</summary>
    private sealed class NtsServer : IAsyncDisposable
    {
        public NtsServer(TlsCertificateKeyPair certificate)
        {
            Ring = NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600);
            Udp = StartNtpServer(ntsKeys: Ring);
            Ke = NtsKe.StartServer([certificate], Ring, o => o with
            {
                NtpServer = "127.0.0.1",
                NtpPort = Udp.LocalEndpoints[0].Port,
            });
        }

        public NtsServerKeyRing Ring { get; }

        public UdpNtpServer Udp { get; }

        public NtsKeServer Ke { get; }

        public int NtpPort => Udp.LocalEndpoints[0].Port;

        public async ValueTask DisposeAsync()
        {
            await Ke.DisposeAsync();
            Udp.Dispose();
            Ring.Dispose();
        }
    }

    private TempusConfiguration NtsConfiguration(NtsServer server, string host = "localhost", int certSet = 0, string? caFile = null)
    {
        var configuration = new TempusConfiguration { NoSystemCertificates = true };
        configuration.NtsTrustedCertificates[certSet] = [caFile ?? _pki.CaFile];
        configuration.Sources.Add(Server(host, 123) with { Nts = true, NtsPort = server.Ke.Port() });
        return configuration;
    }

    [Fact]
    public async Task APlainSourceGetsAcceptedSamplesFromTheServer()
    {
        using UdpNtpServer server = StartNtpServer();
        var configuration = new TempusConfiguration();
        configuration.Sources.Add(Server("127.0.0.1", server.LocalEndpoints[0].Port));
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 3, "three samples were accepted");

        NtpSource source = Single(manager);
        SourceReport report = Report(source);
        Assert.Equal(SourceAuthentication.None, report.Authentication);
        Assert.Equal(2, report.Stratum);
        Assert.NotEqual(0, report.Reach);
        Assert.Equal(server.LocalEndpoints[0].ToString(), $"{report.Address}:{report.Port}");

        // Same machine, same clock: the offset is bounded by the round trip (plus the clock's reading noise).
        Assert.InRange(Math.Abs(report.MeasuredOffset), 0, report.PeerDelay + 0.01);
        SourceNetworkStatus status = manager.GetStatus(source)!;
        Assert.StartsWith("127.0.0.1:", status.LocalAddress, StringComparison.Ordinal);
        Assert.Equal(status.KernelTimestamps, report.KernelRxTimestamp);
        Assert.Equal(new[] { "127.0.0.1" }, _added.ToArray());
        Assert.Equal(0, _eventsOutsideLock);
    }

    [Fact]
    public async Task ASymmetricKeySourceGetsAuthenticatedSamples()
    {
        string keyFile = Path.Combine(_dir, "keys");
        File.WriteAllText(keyFile, "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using KeyRing serverKeys = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        using UdpNtpServer server = StartNtpServer(serverKeys);
        var configuration = new TempusConfiguration { KeyFile = keyFile };
        configuration.Sources.Add(Server("127.0.0.1", server.LocalEndpoints[0].Port) with { KeyId = 21 });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 3, "three authenticated samples were accepted");

        SourceReport report = Report(Single(manager));
        Assert.Equal(SourceAuthentication.SymmetricKey, report.Authentication);
        Assert.Equal(21u, report.KeyId);
        Assert.True(report.LastResponseAuthenticated);
        Assert.Equal(0, report.AuthenticationFailures);
    }

    [Fact]
    public async Task AKeyMissingFromTheKeyFileOrNotTrustedKeepsTheSourceFromStarting()
    {
        string keyFile = Path.Combine(_dir, "keys");
        File.WriteAllText(keyFile, "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n12 SHA1 HEX:FF112233445566778899AABBCCDDEEFF00112233\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var configuration = new TempusConfiguration { KeyFile = keyFile, TrustedKeys = new HashSet<uint> { 11 } };
        configuration.Sources.Add(Server("127.0.0.1", 12301) with { KeyId = 99, FileName = "tempus.conf", Line = 4 });
        configuration.Sources.Add(Server("127.0.0.2", 12301) with { KeyId = 12, FileName = "tempus.conf", Line = 5 });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        Assert.Empty(manager.Sources);
        Assert.Empty(_added);
        IReadOnlyList<SourceProblem> problems = manager.Problems;
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.True(p.Permanent));
        Assert.Contains("tempus.conf:4: server 127.0.0.1 uses key 99, which is not in the key file", problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("tempus.conf:5: server 127.0.0.2 uses key 12, which is not trusted", problems[1].Message, StringComparison.Ordinal);
    }

    private string WriteKeyFile(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    [Fact]
    public async Task AReloadedKeyIsUsedFromTheNextPollAndAWithdrawnKeyStopsTheSourceUntilItIsBack()
    {
        const string Old = "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n";
        const string New = "21 AES128 HEX:F0E0D0C0B0A090807060504030201000\n";
        string keyFile = WriteKeyFile("keys", Old);
        using KeyRing serverOld = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        using KeyRing clientOld = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        using UdpNtpServer server = StartNtpServer(serverOld, null, out NtpServerEngine engine);
        var configuration = new TempusConfiguration { KeyFile = keyFile };
        configuration.Sources.Add(Server("127.0.0.1", server.LocalEndpoints[0].Port) with { KeyId = 21, FileName = "tempus.conf", Line = 3 });
        await using SourceManager manager = Create(configuration, clientOld);
        await manager.StartAsync(CancellationToken.None);
        NtpSource source = Single(manager);
        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 2, "samples with the first key");

        // Both sides rotate the secret of key 21: the server first, then the client's key file is reloaded.
        File.WriteAllText(keyFile, New);
        using KeyRing serverNew = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        using KeyRing clientNew = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        engine.ReplaceKeys(serverNew);
        Assert.Equal(1, manager.ReplaceKeys(clientNew, keyFile));
        long authenticatedAtSwap = engine.Counters.Authenticated;
        int updatesAtSwap = Updates("127.0.0.1");

        // Only requests signed with the new secret authenticate at the server now, and they give samples.
        await NtsKe.EventuallyAsync(
            () => engine.Counters.Authenticated >= authenticatedAtSwap + 2 && Updates("127.0.0.1") >= updatesAtSwap + 2,
            "samples with the reloaded key");
        Assert.True(Report(source).LastResponseAuthenticated);
        Assert.Equal("", manager.GetStatus(source)!.SymmetricKeyProblem);

        // Key 21 is gone from the file: the source sends nothing, not even unauthenticated requests.
        File.WriteAllText(keyFile, "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n");
        using KeyRing clientWithout = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        Assert.Equal(0, manager.ReplaceKeys(clientWithout, keyFile));
        string problem = manager.GetStatus(source)!.SymmetricKeyProblem;
        Assert.Contains("tempus.conf:3: server 127.0.0.1 uses key 21, which is not in the key file " + keyFile, problem, StringComparison.Ordinal);
        Assert.Contains("it sends nothing", problem, StringComparison.Ordinal);
        long sent;
        lock (_syncRoot)
        {
            sent = source.TotalTx;
        }

        // A request sent just before the key was withdrawn may still wait in the server's socket: the server is
        // this source's only peer, so it has seen everything once it counted as many requests as the source sent.
        await NtsKe.EventuallyAsync(() => engine.Counters.Received >= sent, "the server received the requests sent before the key was withdrawn");
        long received = engine.Counters.Received;
        Assert.Equal(sent, received);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        lock (_syncRoot)
        {
            Assert.Equal(sent, source.TotalTx);
        }

        Assert.Equal(received, engine.Counters.Received);
        Assert.Same(source, Single(manager));

        // The key is back: polling resumes at once with it.
        int updatesBefore = Updates("127.0.0.1");
        Assert.Equal(1, manager.ReplaceKeys(clientNew, keyFile));
        Assert.Equal("", manager.GetStatus(source)!.SymmetricKeyProblem);
        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") > updatesBefore, "samples after the key came back");
        Assert.Equal(0, _eventsOutsideLock);

        // Stopped before the rings above are disposed: the source signs with their keys.
        await manager.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AKeyThatIsNoLongerTrustedAfterAReloadStopsTheSourceToo()
    {
        string keyFile = WriteKeyFile("keys", "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        using KeyRing serverKeys = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        using KeyRing clientKeys = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        using UdpNtpServer server = StartNtpServer(serverKeys);
        var configuration = new TempusConfiguration { KeyFile = keyFile };
        configuration.Sources.Add(Server("127.0.0.1", server.LocalEndpoints[0].Port) with { KeyId = 21 });
        await using SourceManager manager = Create(configuration, clientKeys);
        await manager.StartAsync(CancellationToken.None);
        NtpSource source = Single(manager);
        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 1, "a sample");

        using KeyRing untrusted = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        untrusted.SetTrustedKeys([11]);
        Assert.Equal(0, manager.ReplaceKeys(untrusted, keyFile));

        Assert.Contains("uses key 21, which is not trusted", manager.GetStatus(source)!.SymmetricKeyProblem, StringComparison.Ordinal);
        lock (_syncRoot)
        {
            Assert.False(source.Authenticator.CanSend);
        }

        // Stopped before the rings above are disposed: the source signs with their keys.
        await manager.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ALineKeptFromStartingByAMissingKeyStartsWhenAReloadBringsTheKey()
    {
        string keyFile = WriteKeyFile("keys", "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n");
        var configuration = new TempusConfiguration { KeyFile = keyFile };
        string serverKeyFile = WriteKeyFile("server.keys", "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        using KeyRing serverKeys = KeyRing.Load(serverKeyFile, new List<KeyFileWarning>());
        using UdpNtpServer server = StartNtpServer(serverKeys);
        configuration.Sources.Add(Server("127.0.0.1", server.LocalEndpoints[0].Port) with { KeyId = 21 });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);
        Assert.Empty(manager.Sources);
        Assert.Contains("uses key 21, which is not in the key file", Assert.Single(manager.Problems).Message, StringComparison.Ordinal);

        File.WriteAllText(keyFile, File.ReadAllText(serverKeyFile));
        using KeyRing reloaded = KeyRing.Load(keyFile, new List<KeyFileWarning>());
        Assert.Equal(1, manager.ReplaceKeys(reloaded, keyFile));

        Assert.Empty(manager.Problems);
        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 2, "authenticated samples from the line that started");
        Assert.True(Report(Single(manager)).LastResponseAuthenticated);
        Assert.Equal(new[] { "127.0.0.1" }, _added.ToArray());

        // Stopped before the rings above are disposed: the source signs with their keys.
        await manager.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task AnNtsSourceRunsNtsKeAndGetsAuthenticatedSamplesFromTheNegotiatedServer()
    {
        await using var server = new NtsServer(_pki.Localhost);
        await using SourceManager manager = Create(NtsConfiguration(server));
        await manager.StartAsync(CancellationToken.None);

        await NtsKe.EventuallyAsync(() => Updates("localhost") >= 3, "three NTS samples were accepted");

        NtpSource source = Single(manager);
        SourceReport report = Report(source);
        Assert.Equal(SourceAuthentication.Nts, report.Authentication);
        Assert.True(report.LastResponseAuthenticated);
        Assert.InRange(report.NtsCookies, 1, 8);

        // The NTS-KE Server and Port records, not the configured port 123, say where NTP goes.
        Assert.Equal($"127.0.0.1:{server.NtpPort}", $"{report.Address}:{report.Port}");
        SourceNetworkStatus status = manager.GetStatus(source)!;
        Assert.Equal(1, status.NtsKeyExchanges);
        Assert.Equal(0, status.NtsKeFailures);
        Assert.False(status.NtsSessionFromStore);
        Assert.Equal(1, server.Ke.Counters.HandshakesCompleted);
        Assert.Equal(0, _eventsOutsideLock);
    }

    [Fact]
    public async Task ACertificateSetWithTheWrongCaFailsWithTheCaMessageAndTheRightSetWorks()
    {
        await using var server = new NtsServer(_pki.Localhost);
        var configuration = new TempusConfiguration { NoSystemCertificates = true };
        configuration.NtsTrustedCertificates[1] = [_pki.OtherCaFile];
        configuration.NtsTrustedCertificates[2] = [_pki.CaFile];
        configuration.Sources.Add(Server("localhost", 123) with { Nts = true, NtsPort = server.Ke.Port(), CertSet = 1 });
        configuration.Sources.Add(Server("127.0.0.1", 123) with { Nts = true, NtsPort = server.Ke.Port(), CertSet = 2 });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        NtpSource wrong = manager.Sources.Single(s => s.Name == "localhost");
        NtpSource right = manager.Sources.Single(s => s.Name == "127.0.0.1");
        await NtsKe.EventuallyAsync(() => manager.GetStatus(wrong)!.NtsKeFailures >= 1 && Updates("127.0.0.1") >= 2, "the wrong set failed and the right one worked");

        SourceNetworkStatus status = manager.GetStatus(wrong)!;
        Assert.Contains("unable to get local issuer certificate", status.LastError, StringComparison.Ordinal);
        Assert.Contains("ntstrustedcerts", status.LastError, StringComparison.Ordinal);
        SourceReport report = Report(wrong);
        Assert.True(report.NtsKeAttempts >= 1);
        Assert.Contains("unable to get local issuer certificate", report.LastAuthenticationError, StringComparison.Ordinal);
        Assert.Equal(0, Updates("localhost"));
        Assert.NotNull(status.NtsNextAttempt);
        Assert.Equal(1, manager.GetStatus(right)!.NtsKeyExchanges);
    }

    [Fact]
    public async Task AnExpiredCertificateFailsUnlessNocerttimecheckAndOnlyUntilTheClockHasBeenUpdated()
    {
        await using var server = new NtsServer(_pki.Expired);

        // Without nocerttimecheck the expired certificate is refused.
        await using (SourceManager strict = Create(NtsConfiguration(server)))
        {
            await strict.StartAsync(CancellationToken.None);
            NtpSource source = Single(strict);
            await NtsKe.EventuallyAsync(() => strict.GetStatus(source)!.NtsKeFailures >= 1, "the key exchange failed");
            Assert.Contains("certificate has expired", strict.GetStatus(source)!.LastError, StringComparison.Ordinal);
            Assert.Equal(0, Updates("localhost"));
        }

        // nocerttimecheck 1 while the clock has not been updated: accepted.
        TempusConfiguration configuration = NtsConfiguration(server);
        configuration.NoCertTimeCheckUpdates = 1;
        await using SourceManager lenient = Create(configuration);
        await lenient.StartAsync(CancellationToken.None);
        NtpSource nts = Single(lenient);
        await NtsKe.EventuallyAsync(() => Updates("localhost") >= 2, "samples came through the unchecked certificate");
        Assert.True(lenient.GetStatus(nts)!.NtsCertificateTimeCheckSkipped);

        // Once the clock has been updated, the session is checked again, and the certificate fails.
        Interlocked.Exchange(ref _clockUpdates, 1);
        await NtsKe.EventuallyAsync(() => lenient.GetStatus(nts)!.NtsKeFailures >= 1, "the checked key exchange failed");
        SourceNetworkStatus status = lenient.GetStatus(nts)!;
        Assert.Contains("certificate has expired", status.LastError, StringComparison.Ordinal);
        Assert.Equal(1, status.NtsKeyExchanges);
        lock (_syncRoot)
        {
            // The samples that came through the unchecked certificate are gone, and with them the reachability.
            Assert.Equal(0, nts.Statistics.SampleCount);
            Assert.Equal(0, nts.Reach);
            Assert.False(nts.ToCandidate(RealtimeClock.Instance.UnixNanoseconds).Reachable);
        }

        int samples = Updates("localhost");
        long sent;
        lock (_syncRoot)
        {
            sent = nts.TotalTx;
        }

        // No more requests go out with the session obtained without the time check.
        await Task.Delay(TimeSpan.FromSeconds(1));
        lock (_syncRoot)
        {
            Assert.Equal(sent, nts.TotalTx);
        }

        Assert.Equal(samples, Updates("localhost"));
    }

    [Fact]
    public async Task AnUnresolvableNameIsRetriedAndReported()
    {
        var configuration = new TempusConfiguration();
        configuration.Sources.Add(Server("no-such-host.tempus.invalid", 123));
        var log = new ListLogger();
        await using SourceManager manager = Create(configuration, logger: log);
        await manager.StartAsync(CancellationToken.None);
        NtpSource source = Single(manager);

        await NtsKe.EventuallyAsync(() => manager.GetStatus(source)!.ResolveFailures >= 3, "three lookups failed");

        SourceNetworkStatus status = manager.GetStatus(source)!;
        Assert.False(status.Resolved);
        Assert.Contains("cannot resolve 'no-such-host.tempus.invalid'", status.LastError, StringComparison.Ordinal);
        Assert.Equal(SourceActivity.UnresolvedAddress, Report(source).Activity);
        Assert.Equal(0, Report(source).TotalTx);
        Assert.Contains(log.Entries, e => e.EventId == 701 && e.Level == LogLevel.Warning && e.Message.Contains("no-such-host.tempus.invalid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnresolvablePoolIsReportedAsAProblemUntilItResolves()
    {
        var configuration = new TempusConfiguration();
        configuration.Sources.Add(Server("pool.tempus.invalid", 123) with { Kind = SourceKind.Pool });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        await NtsKe.EventuallyAsync(() => manager.Problems.Count == 1, "the pool's lookup failed");

        SourceProblem problem = Assert.Single(manager.Problems);
        Assert.False(problem.Permanent);
        Assert.Contains("pool pool.tempus.invalid: cannot resolve 'pool.tempus.invalid'", problem.Message, StringComparison.Ordinal);
        Assert.Empty(manager.Sources);
    }

    [Fact]
    public async Task APoolOfLocalhostGetsAMemberPerAddress()
    {
        using UdpNtpServer server = StartNtpServer();
        IPAddress[] addresses = (await Dns.GetHostAddressesAsync("localhost")).Distinct().ToArray();
        var configuration = new TempusConfiguration();
        configuration.Sources.Add(Server("localhost", server.LocalEndpoints[0].Port) with { Kind = SourceKind.Pool });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 2, "the 127.0.0.1 member gave samples");

        IReadOnlyList<NtpSource> members = manager.Sources;
        Assert.Equal(Math.Min(addresses.Length, 4), members.Count);
        Assert.All(members, m => Assert.Contains(IPAddress.Parse(m.Name), addresses));
        Assert.Equal("localhost", Report(members[0]).Pool);
        Assert.Equal(members.Select(m => m.Name).Order(), _added.Order());
    }

    [Fact]
    public async Task APoolMemberThatNeverAnswersIsReplacedAfterEightPolls()
    {
        // A port nothing listens on: every request draws an ICMP port unreachable.
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var configuration = new TempusConfiguration();
        configuration.Sources.Add(Server("127.0.0.1", port) with { Kind = SourceKind.Pool });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        await NtsKe.EventuallyAsync(() => _removed.Contains("127.0.0.1"), "the silent member was removed");
        Assert.Equal(new[] { "127.0.0.1" }, _removed.ToArray());
        Assert.Equal(0, _eventsOutsideLock);
    }

    [Fact]
    public async Task TheNtsSessionIsSavedToNtsdumpdirAndAFreshManagerReusesItWithoutNtsKe()
    {
        await using var server = new NtsServer(_pki.Localhost);
        TempusConfiguration configuration = NtsConfiguration(server);
        configuration.NtsDumpDirectory = Path.Combine(_dir, "nts");

        await using (SourceManager first = Create(configuration))
        {
            await first.StartAsync(CancellationToken.None);
            await NtsKe.EventuallyAsync(() => Updates("localhost") >= 2, "the first manager got samples");
            await first.StopAsync(CancellationToken.None);
        }

        Assert.Equal(1, server.Ke.Counters.HandshakesCompleted);
        Assert.True(File.Exists(new NtsSessionStore(configuration.NtsDumpDirectory).GetPath("localhost", server.Ke.Port())));
        _updates.Clear();

        await using SourceManager second = Create(configuration);
        await second.StartAsync(CancellationToken.None);
        await NtsKe.EventuallyAsync(() => Updates("localhost") >= 2, "the second manager got samples");

        SourceNetworkStatus status = second.GetStatus(Single(second))!;
        Assert.True(status.NtsSessionFromStore);
        Assert.Equal(0, status.NtsKeyExchanges);
        Assert.Equal(1, server.Ke.Counters.HandshakesCompleted);
    }

    [Fact]
    public async Task RekeyAllRunsAFreshNtsKe()
    {
        await using var server = new NtsServer(_pki.Localhost);
        await using SourceManager manager = Create(NtsConfiguration(server));
        await manager.StartAsync(CancellationToken.None);
        NtpSource source = Single(manager);
        await NtsKe.EventuallyAsync(() => Updates("localhost") >= 1, "a sample was accepted");

        Assert.Equal(1, manager.RekeyAll());

        await NtsKe.EventuallyAsync(() => manager.GetStatus(source)!.NtsKeyExchanges == 2, "the second key exchange ran");
        Assert.Equal(2, server.Ke.Counters.HandshakesCompleted);
    }

    [Fact]
    public async Task AnOfflineSourceSendsNothingUntilItIsOnlineAgain()
    {
        using UdpNtpServer server = StartNtpServer();
        var configuration = new TempusConfiguration();
        configuration.Sources.Add(Server("127.0.0.1", server.LocalEndpoints[0].Port));
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);
        NtpSource source = Single(manager);
        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 1, "a sample was accepted");

        Assert.Equal(1, manager.SetOnline(null, false));
        long sent;
        lock (_syncRoot)
        {
            sent = source.TotalTx;
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        lock (_syncRoot)
        {
            Assert.Equal(sent, source.TotalTx);
        }

        Assert.Equal(1, manager.SetOnline("127.0.0.1", true));
        int before = Updates("127.0.0.1");
        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") > before, "samples resumed");
    }

    [Fact]
    public async Task ReplaceSourcesRemovesDroppedLinesAndKeepsUnchangedOnes()
    {
        using UdpNtpServer server = StartNtpServer();
        int port = server.LocalEndpoints[0].Port;
        var configuration = new TempusConfiguration();
        configuration.Sources.Add(Server("127.0.0.1", port) with { Line = 1 });
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);
        NtpSource kept = Single(manager);

        (int removed, int added) = manager.ReplaceSources([Server("127.0.0.1", port) with { Line = 7 }, Server("127.0.0.2", port)]);

        Assert.Equal((0, 1), (removed, added));
        Assert.Same(kept, manager.Sources.Single(s => s.Name == "127.0.0.1"));

        (removed, added) = manager.ReplaceSources([Server("127.0.0.2", port)]);
        Assert.Equal((1, 0), (removed, added));
        Assert.Equal(new[] { "127.0.0.1" }, _removed.ToArray());
        Assert.Null(manager.GetStatus(kept));
    }

    [Fact]
    public async Task AnNtsPoolMemberRunsNtsKeWithItsAddressAndThePoolNameForTheCertificate()
    {
        await using var server = new NtsServer(_pki.Localhost);
        TempusConfiguration configuration = NtsConfiguration(server);
        configuration.Sources[0] = configuration.Sources[0] with { Kind = SourceKind.Pool };
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);

        await NtsKe.EventuallyAsync(() => Updates("127.0.0.1") >= 2, "the pool member got NTS samples");

        NtpSource member = manager.Sources.Single(s => s.Name == "127.0.0.1");
        SourceNetworkStatus status = manager.GetStatus(member)!;
        Assert.Equal($"127.0.0.1:{server.Ke.Port()}", status.NtsKeServer);
        Assert.Equal("localhost", status.Pool);
        Assert.Equal(SourceAuthentication.Nts, Report(member).Authentication);
    }

    [Fact]
    public async Task AnNtsSessionOlderThanNtsrefreshIsReplacedByANewKeyExchange()
    {
        await using var server = new NtsServer(_pki.Localhost);
        TempusConfiguration configuration = NtsConfiguration(server);
        configuration.NtsRefreshSeconds = 1;
        await using SourceManager manager = Create(configuration);
        await manager.StartAsync(CancellationToken.None);
        NtpSource source = Single(manager);

        await NtsKe.EventuallyAsync(() => manager.GetStatus(source)!.NtsKeyExchanges >= 2, "a second key exchange ran after ntsrefresh");
        Assert.True(server.Ke.Counters.HandshakesCompleted >= 2);
    }

    [Fact]
    public async Task TheSourceSocketReceivesOnlyFromItsServerAddressAndPort()
    {
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var socket = SourceSocket.Open((IPEndPoint)server.LocalEndPoint!, RealtimeClock.Instance);
        Assert.Equal(IPAddress.Loopback, socket.Local.Address);

        using (var intruder = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            intruder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            intruder.SendTo(new byte[] { 1, 2, 3 }, socket.Local);
        }

        server.SendTo(new byte[] { 9, 9, 9, 9 }, socket.Local);
        byte[] buffer = new byte[2048];
        using var timeout = new CancellationTokenSource(NtsKe.TestTimeout);
        ReceivedDatagram datagram = await socket.ReceiveAsync(buffer, timeout.Token);

        // The connected socket never delivered the intruder's datagram, sent first.
        Assert.Equal(4, datagram.Length);
        Assert.Equal(9, buffer[0]);
        Assert.Equal(socket.KernelTimestamps, datagram.KernelTimestamp);
    }
}
