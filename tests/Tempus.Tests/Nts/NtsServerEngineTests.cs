using System.Net;
using System.Security.Cryptography;
using Tempus.Config;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;
using Tempus.Testing;
using Tempus.Tests.Server;

namespace Tempus.Tests.Nts;

/// <summary>
/// RFC 8915 §5.7 end to end in memory: <see cref="NtsNtpRequest"/> builds the request, the engine answers, the
/// request checks the answer; and the cases a correct peer never produces, built by hand.
/// </summary>
public sealed class NtsServerEngineTests : IDisposable
{
    private static readonly DateTime s_start = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);
    private static readonly UInt128 s_loopback = ((UInt128)0xffff << 32) | 0x7F000001;
    private readonly FakeClock _clock = new(s_start);
    private readonly NtsServerKeyRing _ring;

    public NtsServerEngineTests()
    {
        _ring = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
    }

    public void Dispose() => _ring.Dispose();

    private NtpServerEngine CreateEngine(NtsServerKeyRing? ring)
    {
        var access = new AccessRules();
        access.Add(true, false, IPNetwork.Parse("127.0.0.0/8"));
        return new NtpServerEngine(_clock, null, access, false, now => ReferenceState.Local(2, now), ring);
    }

    private NtpServerEngine CreateEngine() => CreateEngine(_ring);

    private byte[] Process(NtpServerEngine engine, ReadOnlySpan<byte> request, out ServerOutcome outcome)
    {
        byte[] response = new byte[2048];
        int length = engine.Process(request, s_loopback, _clock.NtpNow, response, out outcome);
        return response[..length];
    }

    // A request built by hand: any nonce length, placeholders outside or inside the ciphertext, any cookie.
    private static byte[] BuildRequest(NtsSession session, byte[] cookie, int placeholders, int nonceLength = -1, int encryptedPlaceholders = 0, byte[]? uniqueIdentifier = null)
    {
        using NtsAead aead = NtsAead.Create(session.Algorithm, session.C2SKey);
        nonceLength = nonceLength < 0 ? aead.NonceLength : nonceLength;
        uniqueIdentifier ??= RandomNumberGenerator.GetBytes(32);
        byte[] datagram = new byte[4096];
        var header = new NtpPacketHeader { Version = 4, Mode = NtpMode.Client, TransmitTimestamp = new NtpTimestamp(0x1122334455667788) };
        header.TryWrite(datagram, out int length);
        Assert.True(NtsPacketWriter.TryWriteRequestFields(datagram.AsSpan(length), uniqueIdentifier, cookie, placeholders, out int written));
        length += written;
        byte[] plaintext = new byte[encryptedPlaceholders * ExtensionFieldWriter.GetPaddedLength(cookie.Length)];
        int position = 0;
        for (int i = 0; i < encryptedPlaceholders; i++)
        {
            NtsPacketWriter.TryWriteCookiePlaceholder(plaintext.AsSpan(position), cookie.Length, out written);
            position += written;
        }

        Assert.True(NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(length), nonceLength, plaintext.Length + 16, aead.MaxNonceLength, out int nonceOffset, out int ciphertextOffset, out int authenticator));
        byte[] nonce = RandomNumberGenerator.GetBytes(nonceLength);
        nonce.CopyTo(datagram, length + nonceOffset);
        aead.Seal(nonce, datagram.AsSpan(0, length), plaintext, datagram.AsSpan(length + ciphertextOffset, plaintext.Length + 16));
        return datagram[..(length + authenticator)];
    }

    private static int CookiesIn(NtsSession session, ReadOnlySpan<byte> response)
    {
        NtpPacketLayout layout = NtpPacketLayout.Parse(response);
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));
        byte[] plaintext = new byte[info.Ciphertext.Length - 16];
        using NtsAead aead = NtsAead.Create(session.Algorithm, session.S2CKey);
        Assert.True(aead.TryOpen(info.Nonce, info.AssociatedData, info.Ciphertext, plaintext));
        int count = 0;
        var reader = new NtsPlaintextReader(plaintext);
        while (reader.TryReadNext(out ExtensionField field, out _))
        {
            Assert.Equal(ExtensionFieldType.NtsCookie, field.Type);
            count++;
        }

        Assert.True(reader.IsAtEnd);
        return count;
    }

    [Theory]
    [MemberData(nameof(NtsTestSessions.Algorithms), MemberType = typeof(NtsTestSessions))]
    public void FullExchangeAuthenticatesAndRefillsTheSessionToEightCookies(NtsAeadAlgorithm algorithm)
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, algorithm, cookies: 8);
        byte[] sent = session.Cookies.Peek();

        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        Assert.Equal(0, request.PlaceholderCount);
        byte[] response = Process(engine, request.Datagram.Span, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedNts, outcome);
        Assert.Equal(NtsResponseStatus.Accepted, request.Accept(response, out NtpPacketHeader header));
        Assert.Equal(NtpMode.Server, header.Mode);
        Assert.Equal(2, header.Stratum);
        Assert.Equal(request.TransmitTimestamp, header.OriginTimestamp);
        Assert.Equal(8, session.Cookies.Count);
        Assert.DoesNotContain(session.Cookies, c => c.AsSpan().SequenceEqual(sent));
        Assert.All(session.Cookies, c => Assert.True(_ring.TryOpenCookie(c, new byte[128], out NtsAeadAlgorithm a, out _) && a == algorithm));
        Assert.Equal(1, engine.Counters.NtsRequests);
        Assert.Equal(1, engine.Counters.NtsAuthenticated);
        Assert.Equal(1, engine.Counters.Responded);
        Assert.Equal(0, engine.Counters.Dropped);
    }

    [Theory]
    [MemberData(nameof(NtsTestSessions.Algorithms), MemberType = typeof(NtsTestSessions))]
    public void ClientWithOneCookieAsksForSevenMoreUnlessThatWouldFragment(NtsAeadAlgorithm algorithm)
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, algorithm, cookies: 1);

        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        byte[] response = Process(engine, request.Datagram.Span, out _);

        Assert.Equal(NtsResponseStatus.Accepted, request.Accept(response, out _));
        Assert.True(request.Datagram.Length <= NtsNtpRequest.MaxRequestLength);
        Assert.Equal(request.PlaceholderCount + 1, session.Cookies.Count);

        // 168-byte AEAD 17 cookies: a cookie and seven placeholders would pass 1280 bytes.
        Assert.Equal(algorithm == NtsAeadAlgorithm.AesSivCmac512 ? 5 : 7, request.PlaceholderCount);
    }

    [Theory]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 0)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 1)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 2)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 3)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 4)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 5)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 6)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 7)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac512, 7)]
    [InlineData(NtsAeadAlgorithm.Aes128GcmSiv, 0)]
    [InlineData(NtsAeadAlgorithm.Aes128GcmSiv, 7)]
    public void ResponseIsNeverLongerThanTheRequestAndCarriesOneCookiePerPlaceholderPlusOne(NtsAeadAlgorithm algorithm, int placeholders)
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, algorithm, cookies: 1);
        byte[] request = BuildRequest(session, session.Cookies.Dequeue(), placeholders);

        byte[] response = Process(engine, request, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedNts, outcome);
        Assert.True(response.Length <= request.Length, $"response {response.Length} > request {request.Length}");
        Assert.Equal(placeholders + 1, CookiesIn(session, response));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(12)]
    public void ShortClientNonceWithAdditionalPaddingStillLeavesRoomForTheServerNonce(int nonceLength)
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        byte[] request = BuildRequest(session, session.Cookies.Dequeue(), 0, nonceLength);

        byte[] response = Process(engine, request, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedNts, outcome);
        Assert.True(response.Length <= request.Length);
        Assert.Equal(1, CookiesIn(session, response));
    }

    [Fact]
    public void EncryptedPlaceholdersCountToo()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        byte[] request = BuildRequest(session, session.Cookies.Dequeue(), placeholders: 1, encryptedPlaceholders: 2);

        byte[] response = Process(engine, request, out _);

        Assert.Equal(4, CookiesIn(session, response));
        Assert.True(response.Length <= request.Length);
    }

    [Fact]
    public void ResponseBufferShorterThanTheRequestGetsFewerCookies()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        byte[] request = BuildRequest(session, session.Cookies.Dequeue(), placeholders: 7);
        byte[] response = new byte[400];

        int length = engine.Process(request, s_loopback, _clock.NtpNow, response, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedNts, outcome);
        // 48 + 36 + authenticator(8 + 16 + 16 + n * 108) <= 400: n = 2.
        Assert.Equal(2, CookiesIn(session, response.AsSpan(0, length)));
    }

    [Fact]
    public void CookieTheServerCannotOpenGetsAnNtsNakEchoingTheUniqueIdentifier()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        byte[] cookie = session.Cookies.Dequeue();
        cookie[30] ^= 0x80;
        byte[] uniqueIdentifier = RandomNumberGenerator.GetBytes(40);
        byte[] request = BuildRequest(session, cookie, placeholders: 3, uniqueIdentifier: uniqueIdentifier);

        byte[] response = Process(engine, request, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedNtsNak, outcome);
        NtpPacketLayout layout = NtpPacketLayout.Parse(response);
        Assert.True(layout.Header.IsKissOfDeath);
        Assert.Equal(KissCode.Ntsn, layout.Header.ReferenceId);
        Assert.Equal(new NtpTimestamp(0x1122334455667788), layout.Header.OriginTimestamp);
        Assert.Equal(1, layout.ExtensionFieldCount);
        Assert.False(layout.HasMac);
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));
        Assert.Equal(uniqueIdentifier, info.UniqueIdentifier.ToArray());
        Assert.False(info.HasCookie);
        Assert.False(info.HasAuthenticator);
        Assert.Equal(1, engine.Counters.NtsBadCookies);
        Assert.Equal(1, engine.Counters.NtsNaksSent);
        Assert.Equal(0, engine.Counters.Dropped);
    }

    [Fact]
    public void CookieSealedWithARotatedOutKeyGetsAnNtsNakThatTheClientReports()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        for (int i = 0; i < NtsServerKeyRing.MaxKeys; i++)
        {
            _ring.Rotate();
        }

        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        byte[] response = Process(engine, request.Datagram.Span, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.RespondedNtsNak, outcome);
        Assert.Equal(NtsResponseStatus.NtsNak, request.Accept(response, out NtpPacketHeader header));
        Assert.Equal(KissCode.Ntsn, header.ReferenceId);
    }

    [Fact]
    public void BadAuthenticatorIsDroppedAndCounted()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        byte[] request = NtsNtpRequest.Create(session, -20).Datagram.ToArray();
        request[^1] ^= 0x01;

        byte[] response = Process(engine, request, out ServerOutcome outcome);

        Assert.Empty(response);
        Assert.Equal(ServerOutcome.DroppedNtsBadAuthenticator, outcome);
        Assert.Equal(1, engine.Counters.NtsBadAuthenticators);
        Assert.Equal(0, engine.Counters.NtsNaksSent);
        Assert.Equal(1, engine.Counters.Dropped);
    }

    [Fact]
    public void AlteredHeaderFailsTheAuthenticator()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.Aes128GcmSiv, cookies: 8);
        byte[] request = NtsNtpRequest.Create(session, -20).Datagram.ToArray();
        request[2] ^= 0x01;

        Process(engine, request, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.DroppedNtsBadAuthenticator, outcome);
    }

    [Fact]
    public void CookieFromAnotherSessionDoesNotAuthenticateThisSessionsRequest()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession mine = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        NtsSession theirs = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        byte[] request = BuildRequest(mine, theirs.Cookies.Dequeue(), 0);

        Process(engine, request, out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.DroppedNtsBadAuthenticator, outcome);
    }

    [Fact]
    public void RequestWithoutEnoughNonceRoomIsDropped()
    {
        // RFC 8915 §5.6: a 4-byte nonce without Additional Padding leaves no room for a 16-byte server nonce.
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        using NtsAead aead = NtsAead.Create(session.Algorithm, session.C2SKey);
        byte[] datagram = new byte[1024];
        new NtpPacketHeader { Version = 4, Mode = NtpMode.Client }.TryWrite(datagram, out int length);
        NtsPacketWriter.TryWriteRequestFields(datagram.AsSpan(length), RandomNumberGenerator.GetBytes(32), session.Cookies.Dequeue(), 0, out int written);
        length += written;
        NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(length), 4, 16, out int nonceOffset, out int ciphertextOffset, out int authenticator);
        aead.Seal(datagram.AsSpan(length + nonceOffset, 4).ToArray(), datagram.AsSpan(0, length).ToArray(), default, datagram.AsSpan(length + ciphertextOffset, 16));

        Process(engine, datagram.AsSpan(0, length + authenticator), out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.DroppedNtsMalformed, outcome);
        Assert.Equal(1, engine.Counters.NtsMalformed);
    }

    [Fact]
    public void NtsRequestWithoutAuthenticatorIsDropped()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        byte[] datagram = new byte[1024];
        new NtpPacketHeader { Version = 4, Mode = NtpMode.Client }.TryWrite(datagram, out int length);
        NtsPacketWriter.TryWriteRequestFields(datagram.AsSpan(length), RandomNumberGenerator.GetBytes(32), session.Cookies.Dequeue(), 0, out int written);

        Process(engine, datagram.AsSpan(0, length + written), out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.DroppedNtsMalformed, outcome);
    }

    [Fact]
    public void ServerWithoutNtsDropsNtsRequestsAsChronyDoes()
    {
        NtpServerEngine engine = CreateEngine(ring: null);
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);

        byte[] response = Process(engine, NtsNtpRequest.Create(session, -20).Datagram.Span, out ServerOutcome outcome);

        Assert.Empty(response);
        Assert.Equal(ServerOutcome.DroppedNtsDisabled, outcome);
        Assert.Equal(1, engine.Counters.NtsDisabled);
        Assert.Equal(1, engine.Counters.Dropped);
    }

    [Fact]
    public void UniqueIdentifierAloneIsEchoedInAPlainResponse()
    {
        // RFC 8915 §5.3: the field may be used without NTS, against off-path spoofing.
        NtpServerEngine engine = CreateEngine();
        byte[] uniqueIdentifier = RandomNumberGenerator.GetBytes(32);
        byte[] datagram = new byte[200];
        new NtpPacketHeader { Version = 4, Mode = NtpMode.Client, TransmitTimestamp = new NtpTimestamp(42) }.TryWrite(datagram, out int length);
        NtsPacketWriter.TryWriteUniqueIdentifier(datagram.AsSpan(length), uniqueIdentifier, out int written);

        byte[] response = Process(engine, datagram.AsSpan(0, length + written), out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.Responded, outcome);
        NtpPacketLayout layout = NtpPacketLayout.Parse(response);
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));
        Assert.Equal(uniqueIdentifier, info.UniqueIdentifier.ToArray());
        Assert.False(info.HasAuthenticator);
    }

    [Fact]
    public void ResponseWithWrongUniqueIdentifierIsRejected()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        byte[] response = Process(engine, request.Datagram.Span, out _);
        response[NtpPacketHeader.Size + 4] ^= 0x01;

        Assert.Equal(NtsResponseStatus.UniqueIdentifierMismatch, request.Accept(response, out _));
        Assert.Equal(7, session.Cookies.Count);
    }

    [Fact]
    public void ResponseToAnotherRequestIsRejected()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        NtsNtpRequest first = NtsNtpRequest.Create(session, -20);
        NtsNtpRequest second = NtsNtpRequest.Create(session, -20);

        byte[] response = Process(engine, second.Datagram.Span, out _);

        Assert.Equal(NtsResponseStatus.NotMatching, first.Accept(response, out _));
        Assert.Equal(NtsResponseStatus.Accepted, second.Accept(response, out _));

        // A replay of an answered request's response is not an answer any more.
        Assert.Equal(NtsResponseStatus.NotMatching, second.Accept(response, out _));
    }

    [Fact]
    public void ResponseWithAlteredCiphertextIsRejectedAndAddsNoCookies()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac384, cookies: 8);
        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        byte[] response = Process(engine, request.Datagram.Span, out _);
        response[^5] ^= 0x01;

        Assert.Equal(NtsResponseStatus.AuthenticationFailed, request.Accept(response, out _));
        Assert.Equal(7, session.Cookies.Count);
    }

    [Fact]
    public void UnprotectedResponseToAnNtsRequestIsDiscarded()
    {
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        byte[] plain = new byte[48];
        new NtpPacketHeader { Version = 4, Mode = NtpMode.Server, Stratum = 1, OriginTimestamp = request.TransmitTimestamp }.TryWrite(plain, out _);
        byte[] kod = new byte[48];
        new NtpPacketHeader { Version = 4, Mode = NtpMode.Server, Stratum = 0, ReferenceId = KissCode.Ntsn, OriginTimestamp = request.TransmitTimestamp }.TryWrite(kod, out _);

        Assert.Equal(NtsResponseStatus.Unauthenticated, request.Accept(plain, out _));

        // RFC 8915 §5.7: a NAK without our Unique Identifier could come from anyone.
        Assert.Equal(NtsResponseStatus.UniqueIdentifierMismatch, request.Accept(kod, out _));
    }

    [Fact]
    public void CookiesOutsideTheCiphertextAreIgnored()
    {
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        byte[] planted = Enumerable.Repeat((byte)0x5A, 104).ToArray();

        // A server response with a cookie before the authenticator (authenticated, not encrypted), an empty
        // plaintext, and another cookie after it (neither).
        byte[] datagram = new byte[1024];
        new NtpPacketHeader { Version = 4, Mode = NtpMode.Server, Stratum = 1, OriginTimestamp = request.TransmitTimestamp, ReceiveTimestamp = new NtpTimestamp(1), TransmitTimestamp = new NtpTimestamp(2) }.TryWrite(datagram, out int length);
        NtsPacketWriter.TryWriteUniqueIdentifier(datagram.AsSpan(length), request.UniqueIdentifier, out int written);
        length += written;
        NtsPacketWriter.TryWriteCookie(datagram.AsSpan(length), planted, out written);
        length += written;
        NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(length), 16, 16, out int nonceOffset, out int ciphertextOffset, out int authenticator);
        byte[] nonce = RandomNumberGenerator.GetBytes(16);
        nonce.CopyTo(datagram, length + nonceOffset);
        using (NtsAead aead = NtsAead.Create(session.Algorithm, session.S2CKey))
        {
            aead.Seal(nonce, datagram.AsSpan(0, length).ToArray(), default, datagram.AsSpan(length + ciphertextOffset, 16));
        }

        length += authenticator;
        NtsPacketWriter.TryWriteCookie(datagram.AsSpan(length), planted, out written);
        length += written;

        Assert.Equal(NtsResponseStatus.Accepted, request.Accept(datagram.AsSpan(0, length), out _));
        Assert.Equal(7, session.Cookies.Count);
        Assert.DoesNotContain(session.Cookies, c => c.AsSpan().SequenceEqual(planted));
    }

    [Theory]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 0)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 7)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac512, 3)]
    [InlineData(NtsAeadAlgorithm.Aes128GcmSiv, 7)]
    public void ProcessingAnNtsRequestAllocatesNothingAfterWarmUp(NtsAeadAlgorithm algorithm, int placeholders)
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, algorithm, cookies: 1);
        byte[] request = BuildRequest(session, session.Cookies.Dequeue(), placeholders);
        byte[] nak = (byte[])request.Clone();
        nak[NtpPacketHeader.Size + 36 + 4 + 30] ^= 1;
        byte[] response = new byte[2048];
        var receive = NtpTimestamp.FromDateTime(s_start);
        for (int i = 0; i < 100; i++)
        {
            engine.Process(request, s_loopback, receive, response, out _);
            engine.Process(nak, s_loopback, receive, response, out _);
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    engine.Process(request, s_loopback, receive, response, out _);
                    engine.Process(nak, s_loopback, receive, response, out _);
                }
            },
            "1000 requests and NAKs");
        Assert.Equal(100 + (AllocationAssert.Rounds * 1000), engine.Counters.NtsAuthenticated);
        Assert.Equal(100 + (AllocationAssert.Rounds * 1000), engine.Counters.NtsNaksSent);
    }

    [Fact]
    public void NoNonceRepeatsAcrossResponsesAndTheirCookiesOverManyPoolRefills()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        byte[] request = BuildRequest(session, session.Cookies.Dequeue(), placeholders: 7);
        using NtsAead aead = NtsAead.Create(session.Algorithm, session.S2CKey);
        var nonces = new HashSet<string>();
        int drawn = 0;

        // 9 nonces of 16 bytes per response: 500 responses take the per-thread pool through 17 refills.
        for (int i = 0; i < 500; i++)
        {
            byte[] response = Process(engine, request, out ServerOutcome outcome);
            Assert.Equal(ServerOutcome.RespondedNts, outcome);
            Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(NtpPacketLayout.Parse(response), out NtsPacketInfo info));
            nonces.Add(Convert.ToHexString(info.Nonce));
            drawn++;
            byte[] plaintext = new byte[info.Ciphertext.Length - 16];
            Assert.True(aead.TryOpen(info.Nonce, info.AssociatedData, info.Ciphertext, plaintext));
            var reader = new NtsPlaintextReader(plaintext);
            while (reader.TryReadNext(out ExtensionField field, out _))
            {
                Assert.Equal(_ring.CurrentKeyId, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(field.Value));
                nonces.Add(Convert.ToHexString(field.Value.Slice(4, NtsServerKeyRing.CookieNonceLength)));
                drawn++;
            }
        }

        Assert.Equal(500 * 9, drawn);
        Assert.Equal(drawn, nonces.Count);
    }

    [Fact]
    public void ManyThreadsServeNtsAtOnce()
    {
        NtpServerEngine engine = CreateEngine();
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        byte[] request = BuildRequest(session, session.Cookies.Dequeue(), 2);
        int bad = 0;

        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            byte[] response = new byte[2048];
            int length = engine.Process(request, s_loopback, NtpTimestamp.FromDateTime(s_start), response, out ServerOutcome outcome);
            if (outcome != ServerOutcome.RespondedNts || length > request.Length)
            {
                Interlocked.Increment(ref bad);
            }
        });

        Assert.Equal(0, bad);
        Assert.Equal(4000, engine.Counters.NtsAuthenticated);
    }

    [Fact]
    public void MalformedNtsFieldsAreDroppedAsMalformedNts()
    {
        NtpServerEngine engine = CreateEngine();
        byte[] datagram = new byte[200];
        new NtpPacketHeader { Version = 4, Mode = NtpMode.Client }.TryWrite(datagram, out int length);

        // RFC 8915 §5.3: a Unique Identifier shorter than 32 bytes (28 with padding, the last-field minimum).
        ExtensionFieldWriter.TryWrite(datagram.AsSpan(length), ExtensionFieldType.UniqueIdentifier, new byte[16], ExtensionFieldWriter.MinLastFieldLengthWithoutMac, out int written);

        Process(engine, datagram.AsSpan(0, length + written), out ServerOutcome outcome);

        Assert.Equal(ServerOutcome.DroppedNtsMalformed, outcome);
    }
}
