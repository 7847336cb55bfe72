using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Ntp;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Tests.Ntp;

/// <summary>
/// The one-shot client against the real server engine on loopback, and against scripted servers that send
/// the failure cases (KoD, crypto-NAK, forged MAC, wrong origin) that a correct server never would.
/// </summary>
public sealed class NtpClientTests : IDisposable
{
    // Every query with this timeout expects an answer (or an error the answer carries), so the limit only bounds a
    // broken run: 2 s was too close on a loaded 2-core machine, where the test host's thread pool can be starved.
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"tempus-client-{Guid.NewGuid():N}.keys");
    private readonly KeyRing _keys;

    public NtpClientTests()
    {
        File.WriteAllText(_keyFile, """
            11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233
            12 SHA1 HEX:FF112233445566778899AABBCCDDEEFF00112233
            21 AES128 HEX:000102030405060708090A0B0C0D0E0F
            """);
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
    }

    public void Dispose()
    {
        _keys.Dispose();
        File.Delete(_keyFile);
    }

    private SymmetricKey Key(uint id)
    {
        Assert.True(_keys.TryGetKey(id, out SymmetricKey? key));
        return key!;
    }

    private UdpNtpServer StartServer(bool cryptoNak = false, int? stratum = 2)
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        var engine = new NtpServerEngine(RealtimeClock.Instance, _keys, access, cryptoNak, now => stratum is int s ? ReferenceState.Local(s, now) : ReferenceState.Unsynchronized);
        var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
        server.Start();
        return server;
    }

    [Fact]
    public async Task PlainQueryToTheServerMeasuresAnOffsetNearZero()
    {
        using UdpNtpServer server = StartServer();
        NtpQueryResult result = await new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.LocalEndpoints[0], null, s_timeout, CancellationToken.None);

        Assert.Equal(AuthenticationMode.None, result.Authentication);
        Assert.Equal(2, result.Header.Stratum);
        // Same machine, same clock: the offset is bounded by the round trip.
        Assert.InRange(Math.Abs(result.Offset), 0, result.Delay + 0.001);
        Assert.InRange(result.Delay, 0, 1);
    }

    [Theory]
    [InlineData(11u)]
    [InlineData(21u)]
    public async Task AuthenticatedQueryReportsTheKey(uint keyId)
    {
        using UdpNtpServer server = StartServer();
        NtpQueryResult result = await new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.LocalEndpoints[0], Key(keyId), s_timeout, CancellationToken.None);

        Assert.Equal(AuthenticationMode.SymmetricKey, result.Authentication);
        Assert.Equal(keyId, result.KeyId);
    }

    [Fact]
    public async Task ServerDroppingAnUnknownKeyGivesATimeoutThatMentionsTheKey()
    {
        using var otherKeys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        otherKeys.SetTrustedKeys([21]);
        using var untrustingServer = new UdpNtpServer(
            new NtpServerEngine(RealtimeClock.Instance, otherKeys, AllowAll(), false, now => ReferenceState.Local(2, now)),
            RealtimeClock.Instance,
            [new IPEndPoint(IPAddress.Loopback, 0)],
            NullLogger.Instance);
        untrustingServer.Start();

        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", untrustingServer.LocalEndpoints[0], Key(11), TimeSpan.FromSeconds(0.5), CancellationToken.None));
        Assert.Equal(NtpQueryError.Timeout, e.Error);
        Assert.Contains("key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CryptoNakIsReportedAsSuch()
    {
        using var otherKeys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        otherKeys.SetTrustedKeys([21]);
        using var server = new UdpNtpServer(
            new NtpServerEngine(RealtimeClock.Instance, otherKeys, AllowAll(), true, now => ReferenceState.Local(2, now)),
            RealtimeClock.Instance,
            [new IPEndPoint(IPAddress.Loopback, 0)],
            NullLogger.Instance);
        server.Start();

        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.LocalEndpoints[0], Key(11), s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.CryptoNak, e.Error);
    }

    [Fact]
    public async Task UnsynchronizedServerIsAnInvalidResponse()
    {
        using UdpNtpServer server = StartServer(stratum: null);
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.LocalEndpoints[0], null, s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.InvalidResponse, e.Error);
        Assert.Contains("not synchronized", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingListeningIsUnreachable()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", port, null, s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.Unreachable, e.Error);
    }

    [Fact]
    public async Task SilentServerIsATimeout()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", (IPEndPoint)silent.LocalEndPoint!, null, TimeSpan.FromSeconds(0.3), CancellationToken.None));
        Assert.Equal(NtpQueryError.Timeout, e.Error);
    }

    [Fact]
    public async Task UnresolvableHostIsUnreachable()
    {
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("no-such-host.invalid", 123, null, s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.Unreachable, e.Error);
        Assert.Contains("cannot resolve", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RATE")]
    [InlineData("DENY")]
    [InlineData("RSTR")]
    public async Task KissOfDeathIsReportedWithItsCode(string code)
    {
        using var server = new ScriptedServer((request, response) =>
        {
            WriteReply(request, response, stratum: 0, refId: ReferenceId.FromAscii(code));
            return NtpPacketHeader.Size;
        });
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.Endpoint, null, s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.KissOfDeath, e.Error);
        Assert.Equal(ReferenceId.FromAscii(code), e.KissCode);
        Assert.Contains(code, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResponseWithAForgedMacFailsAuthentication()
    {
        SymmetricKey key = Key(11);
        using var server = new ScriptedServer((request, response) =>
        {
            WriteReply(request, response, stratum: 2, refId: 0x7F000001);
            int length = NtpPacketHeader.Size + key.WriteMac(response[..NtpPacketHeader.Size], response[NtpPacketHeader.Size..]);
            response[length - 1] ^= 0x01;
            return length;
        });
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.Endpoint, key, s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.AuthenticationFailed, e.Error);
    }

    [Fact]
    public async Task ResponseSignedWithAnotherKeyFailsAuthentication()
    {
        SymmetricKey other = Key(12);
        using var server = new ScriptedServer((request, response) =>
        {
            WriteReply(request, response, stratum: 2, refId: 0x7F000001);
            return NtpPacketHeader.Size + other.WriteMac(response[..NtpPacketHeader.Size], response[NtpPacketHeader.Size..]);
        });
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.Endpoint, Key(11), s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.AuthenticationFailed, e.Error);
    }

    [Fact]
    public async Task UnsignedResponseToASignedRequestFailsAuthentication()
    {
        using var server = new ScriptedServer((request, response) =>
        {
            WriteReply(request, response, stratum: 2, refId: 0x7F000001);
            return NtpPacketHeader.Size;
        });
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.Endpoint, Key(11), s_timeout, CancellationToken.None));
        Assert.Equal(NtpQueryError.AuthenticationFailed, e.Error);
    }

    [Fact]
    public async Task ResponseWithTheWrongOriginIsIgnoredAndTheQueryTimesOut()
    {
        using var server = new ScriptedServer((request, response) =>
        {
            WriteReply(request, response, stratum: 2, refId: 0x7F000001);
            response[24 + 7] ^= 0xFF;
            return NtpPacketHeader.Size;
        });
        NtpQueryException e = await Assert.ThrowsAsync<NtpQueryException>(() =>
            new NtpClient(RealtimeClock.Instance).QueryAsync("127.0.0.1", server.Endpoint, null, TimeSpan.FromSeconds(0.5), CancellationToken.None));
        Assert.Equal(NtpQueryError.Timeout, e.Error);
        Assert.Contains("origin timestamp", e.Message, StringComparison.Ordinal);
    }

    private static AccessRules AllowAll()
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        return access;
    }

    private static void WriteReply(ReadOnlySpan<byte> request, Span<byte> response, byte stratum, uint refId)
    {
        NtpPacketHeader.TryRead(request, out NtpPacketHeader req);
        NtpTimestamp now = RealtimeClock.Instance.NtpNow;
        var header = new NtpPacketHeader
        {
            Version = 4,
            Mode = NtpMode.Server,
            Stratum = stratum,
            ReferenceId = refId,
            OriginTimestamp = req.TransmitTimestamp,
            ReceiveTimestamp = now,
            TransmitTimestamp = now,
        };
        header.TryWrite(response, out _);
    }

    /// <summary>A UDP server that answers each request with whatever the test's script writes.</summary>
    private sealed class ScriptedServer : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        private readonly Thread _thread;

        public delegate int Script(ReadOnlySpan<byte> request, Span<byte> response);

        public ScriptedServer(Script script)
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _thread = new Thread(() =>
            {
                byte[] request = new byte[1024];
                byte[] response = new byte[1024];
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                try
                {
                    while (true)
                    {
                        int n = _socket.ReceiveFrom(request, ref from);
                        int length = script(request.AsSpan(0, n), response);
                        _socket.SendTo(response.AsSpan(0, length), from);
                    }
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
            })
            { IsBackground = true };
            _thread.Start();
        }

        public IPEndPoint Endpoint => (IPEndPoint)_socket.LocalEndPoint!;

        public void Dispose()
        {
            _socket.Dispose();
            _thread.Join(TimeSpan.FromSeconds(2));
        }
    }
}
