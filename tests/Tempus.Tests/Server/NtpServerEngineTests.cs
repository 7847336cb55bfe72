using System.Buffers.Binary;
using System.Net;
using Tempus.Auth;
using Tempus.Config;
using Tempus.Protocol;
using Tempus.Server;
using Tempus.Testing;

namespace Tempus.Tests.Server;

public sealed class NtpServerEngineTests : IDisposable
{
    private static readonly DateTime s_start = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);
    private static readonly UInt128 s_loopback = ((UInt128)0xffff << 32) | 0x7F000001;
    private static readonly UInt128 s_outsider = ((UInt128)0xffff << 32) | 0xC0000201;

    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"tempus-engine-{Guid.NewGuid():N}.keys");
    private readonly KeyRing _keys;
    private readonly FakeClock _clock = new(s_start);

    public NtpServerEngineTests()
    {
        File.WriteAllText(_keyFile, """
            1 MD5 HEX:0102030405060708090A0B0C0D0E0F10
            11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233
            21 AES128 HEX:000102030405060708090A0B0C0D0E0F
            22 SHA256 HEX:000102030405060708090A0B0C0D0E0F000102030405060708090A0B0C0D0E0F
            """);
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
    }

    public void Dispose()
    {
        _keys.Dispose();
        File.Delete(_keyFile);
    }

    private NtpServerEngine CreateEngine(bool cryptoNak = false, int? localStratum = 3, KeyRing? keys = null)
    {
        var access = new AccessRules();
        access.Add(true, false, IPNetwork.Parse("127.0.0.0/8"));
        return new NtpServerEngine(
            _clock,
            keys ?? _keys,
            access,
            cryptoNak,
            now => localStratum is int s ? ReferenceState.Local(s, now) : ReferenceState.Unsynchronized);
    }

    private static byte[] Request(byte version = 4, NtpMode mode = NtpMode.Client, SymmetricKey? key = null, ulong transmit = 0x0123456789ABCDEF)
    {
        var header = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = version,
            Mode = mode,
            Poll = 6,
            TransmitTimestamp = new NtpTimestamp(transmit),
        };
        byte[] buffer = new byte[100];
        header.TryWrite(buffer, out int length);
        if (key is not null)
        {
            length += key.WriteMac(buffer.AsSpan(0, length), buffer.AsSpan(length));
        }

        return buffer[..length];
    }

    private SymmetricKey Key(uint id)
    {
        Assert.True(_keys.TryGetKey(id, out SymmetricKey? key));
        return key!;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void PlainRequestGetsAServerResponseInItsOwnVersion(byte version)
    {
        NtpServerEngine engine = CreateEngine();
        byte[] response = new byte[NtpServerEngine.MaxResponseSize];
        var receive = NtpTimestamp.FromDateTime(s_start);

        int length = engine.Process(Request(version), s_loopback, receive, response, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.Responded, outcome);
        Assert.Equal(NtpPacketHeader.Size, length);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(response.AsSpan(0, length), out NtpPacketHeader h));
        Assert.Equal(NtpMode.Server, h.Mode);
        Assert.Equal(version, h.Version);
        Assert.Equal(LeapIndicator.NoWarning, h.Leap);
        Assert.Equal(3, h.Stratum);
        Assert.Equal(0x7F7F0101u, h.ReferenceId);
        Assert.Equal(new NtpTimestamp(0x0123456789ABCDEF), h.OriginTimestamp);
        Assert.Equal(receive, h.ReceiveTimestamp);
        Assert.True(h.TransmitTimestamp.CompareTo(receive) >= 0);
        Assert.Equal(-20, h.Precision);
        Assert.Equal(6, h.Poll);
        Assert.Equal(1, engine.Counters.Responded);
    }

    [Fact]
    public void TheTransmitTimestampIsNeverBeforeTheReceiveTimestamp()
    {
        // The kernel stamped the request on another CPU whose clock reads 3 µs ahead of the worker's.
        _clock.Step = 0;
        NtpServerEngine engine = CreateEngine();
        byte[] response = new byte[NtpServerEngine.MaxResponseSize];
        NtpTimestamp receive = NtpTimestamp.FromDateTime(s_start) + NtpTimestamp.SecondsToFixed(3e-6);

        int length = engine.Process(Request(), s_loopback, receive, response, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.Responded, outcome);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(response.AsSpan(0, length), out NtpPacketHeader h));
        Assert.Equal(receive, h.ReceiveTimestamp);
        Assert.Equal(receive, h.TransmitTimestamp);

        // Once the worker's clock has passed the stamp, T3 is the clock again.
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        length = engine.Process(Request(), s_loopback, receive, response, out _);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(response.AsSpan(0, length), out h));
        Assert.Equal(_clock.NtpNow, h.TransmitTimestamp);
    }

    [Fact]
    public void UnsynchronizedServerSaysSoWithLeapThreeAndStratumSixteen()
    {
        NtpServerEngine engine = CreateEngine(localStratum: null);
        byte[] response = new byte[NtpServerEngine.MaxResponseSize];
        int length = engine.Process(Request(), s_loopback, NtpTimestamp.FromDateTime(s_start), response, out _);
        NtpPacketHeader.TryRead(response.AsSpan(0, length), out NtpPacketHeader h);
        Assert.Equal(LeapIndicator.Unsynchronized, h.Leap);
        Assert.Equal(16, h.Stratum);
    }

    [Theory]
    [InlineData(1u, 20)]
    [InlineData(11u, 24)]
    [InlineData(21u, 20)]
    [InlineData(22u, 24)]
    public void SignedRequestGetsAResponseSignedWithTheSameKey(uint keyId, int macLength)
    {
        NtpServerEngine engine = CreateEngine();
        SymmetricKey key = Key(keyId);
        byte[] response = new byte[NtpServerEngine.MaxResponseSize];

        int length = engine.Process(Request(key: key), s_loopback, NtpTimestamp.FromDateTime(s_start), response, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedAuthenticated, outcome);
        Assert.Equal(NtpPacketHeader.Size + macLength, length);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(response.AsSpan(0, length), out NtpPacketLayout layout));
        Assert.True(layout.HasMac);
        Assert.Equal(keyId, layout.MacKeyId);
        Assert.True(key.VerifyDigest(layout.AuthenticatedData, layout.MacDigest));
        Assert.Equal(1, engine.Counters.Authenticated);
    }

    [Fact]
    public void RequestWithABadMacIsDroppedAndCounted()
    {
        NtpServerEngine engine = CreateEngine();
        byte[] request = Request(key: Key(11));
        request[^1] ^= 1;

        int length = engine.Process(request, s_loopback, NtpTimestamp.FromDateTime(s_start), new byte[NtpServerEngine.MaxResponseSize], out ServerOutcome outcome);

        Assert.Equal(0, length);
        Assert.Equal(ServerOutcome.DroppedBadMac, outcome);
        Assert.Equal(1, engine.Counters.BadMac);
        Assert.Equal(1, engine.Counters.Dropped);
    }

    [Fact]
    public void RequestWithAnUnknownKeyIsDropped()
    {
        NtpServerEngine engine = CreateEngine();
        byte[] request = Request(key: Key(11));
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(NtpPacketHeader.Size), 99);

        Assert.Equal(0, engine.Process(request, s_loopback, NtpTimestamp.FromDateTime(s_start), new byte[NtpServerEngine.MaxResponseSize], out ServerOutcome outcome));
        Assert.Equal(ServerOutcome.DroppedUnknownKey, outcome);
        Assert.Equal(1, engine.Counters.UnknownKey);
    }

    [Fact]
    public void KeyOutsideTheTrustedSetIsTreatedAsUnknown()
    {
        var keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        keys.SetTrustedKeys([1]);
        NtpServerEngine engine = CreateEngine(keys: keys);
        Assert.True(keys.TryGetKey(1, out _));
        Assert.False(keys.TryGetKey(11, out _));

        Assert.Equal(0, engine.Process(Request(key: Key(11)), s_loopback, NtpTimestamp.FromDateTime(s_start), new byte[NtpServerEngine.MaxResponseSize], out ServerOutcome outcome));
        Assert.Equal(ServerOutcome.DroppedUnknownKey, outcome);
        keys.Dispose();
    }

    [Fact]
    public void WithCryptoNakABadMacGetsAFourByteNakMatchingTheRequest()
    {
        NtpServerEngine engine = CreateEngine(cryptoNak: true);
        byte[] request = Request(key: Key(1));
        request[^3] ^= 0x40;
        byte[] response = new byte[NtpServerEngine.MaxResponseSize];

        int length = engine.Process(request, s_loopback, NtpTimestamp.FromDateTime(s_start), response, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedCryptoNak, outcome);
        Assert.Equal(NtpPacketHeader.Size + 4, length);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(response.AsSpan(0, length), out NtpPacketLayout layout));
        Assert.True(layout.IsCryptoNak);
        Assert.Equal(new NtpTimestamp(0x0123456789ABCDEF), layout.Header.OriginTimestamp);
        Assert.Equal(1, engine.Counters.CryptoNaksSent);
    }

    [Fact]
    public void DeniedClientIsDroppedAndCounted()
    {
        NtpServerEngine engine = CreateEngine();
        Assert.Equal(0, engine.Process(Request(), s_outsider, NtpTimestamp.FromDateTime(s_start), new byte[NtpServerEngine.MaxResponseSize], out ServerOutcome outcome));
        Assert.Equal(ServerOutcome.DroppedDenied, outcome);
        Assert.Equal(1, engine.Counters.Denied);
    }

    [Theory]
    [InlineData(NtpMode.Server)]
    [InlineData(NtpMode.Broadcast)]
    [InlineData(NtpMode.SymmetricActive)]
    public void NonClientModesAreDropped(NtpMode mode)
    {
        NtpServerEngine engine = CreateEngine();
        Assert.Equal(0, engine.Process(Request(mode: mode), s_loopback, NtpTimestamp.FromDateTime(s_start), new byte[NtpServerEngine.MaxResponseSize], out ServerOutcome outcome));
        Assert.Equal(ServerOutcome.DroppedNotClientMode, outcome);
    }

    [Theory]
    [InlineData(NtpMode.Control)]
    [InlineData(NtpMode.Private)]
    public void ControlAndPrivateModePacketsAreNotTimePacketsAndAreDroppedAsMalformed(NtpMode mode)
    {
        // ntpq/ntpdc messages (modes 6 and 7) do not use the 48-byte header; we do not serve them.
        NtpServerEngine engine = CreateEngine();
        Assert.Equal(0, engine.Process(Request(mode: mode), s_loopback, NtpTimestamp.FromDateTime(s_start), new byte[NtpServerEngine.MaxResponseSize], out ServerOutcome outcome));
        Assert.Equal(ServerOutcome.DroppedMalformed, outcome);
    }

    [Fact]
    public void GarbageAndEveryTruncationIsDroppedWithoutThrowing()
    {
        NtpServerEngine engine = CreateEngine(cryptoNak: true);
        byte[] response = new byte[NtpServerEngine.MaxResponseSize];
        byte[] signed = Request(key: Key(11));
        for (int i = 0; i < signed.Length; i++)
        {
            engine.Process(signed.AsSpan(0, i), s_loopback, NtpTimestamp.FromDateTime(s_start), response, out _);
        }

        var random = new Random(1234);
        byte[] garbage = new byte[200];
        for (int i = 0; i < 20_000; i++)
        {
            int length = random.Next(garbage.Length + 1);
            random.NextBytes(garbage.AsSpan(0, length));
            int written = engine.Process(garbage.AsSpan(0, length), s_loopback, NtpTimestamp.FromDateTime(s_start), response, out _);
            Assert.InRange(written, 0, response.Length);
        }

        Assert.Equal(engine.Counters.Received, engine.Counters.Responded + engine.Counters.Dropped);
        Assert.True(engine.Counters.Malformed > 0);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(11u)]
    [InlineData(21u)]
    public void ProcessingARequestAllocatesNothing(uint keyId)
    {
        NtpServerEngine engine = CreateEngine();
        byte[] request = Request(key: keyId == 0 ? null : Key(keyId));
        byte[] response = new byte[NtpServerEngine.MaxResponseSize];
        var receive = NtpTimestamp.FromDateTime(s_start);
        for (int i = 0; i < 100; i++)
        {
            engine.Process(request, s_loopback, receive, response, out _);
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    engine.Process(request, s_loopback, receive, response, out _);
                }
            },
            "1000 requests");
    }
}
