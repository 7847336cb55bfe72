using System.Buffers.Binary;
using System.Text.Json;
using Tempus.Testing;

namespace Tempus.Protocol.Tests;

public class NtsPacketTests
{
    private const int SivMaxNonceLength = int.MaxValue;

    // Field contents of the vectors, by position (RFC 8915 §5.7 order: unique id, cookie, placeholders, authenticator).
    public static TheoryData<string, int, int, int, int, int, string> VectorLayouts() => new()
    {
        // name, unique id offset, cookie offset (-1 none), cookie length, placeholders, authenticator offset, nonce
        { "ntpd-rs client", 52, 88, 168, 0, 256, "ce89ee973442bc0f43aace4999bdf58e" },
        { "ntpd-rs server", 52, -1, 0, 0, 84, "6a1de3c26e13eb10c739d70b841fad1b" },
        { "AEAD 15 request", 52, 88, 100, 1, 292, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" },
        { "AEAD 15 response", 52, -1, 0, 0, 84, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf" },
    };

    [Theory]
    [MemberData(nameof(VectorLayouts))]
    public void RealAndReferencePacketsSplitIntoTheirNtsParts(string name, int uniqueIdOffset, int cookieOffset, int cookieLength, int placeholders, int authenticatorOffset, string nonce)
    {
        byte[] datagram = Packets.NtsVectors().Single(v => v.Name == name).Datagram;
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout));
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));

        Assert.Equal(datagram.AsSpan(uniqueIdOffset, 32).ToArray(), info.UniqueIdentifier.ToArray());
        Assert.Equal(cookieOffset >= 0, info.HasCookie);
        Assert.Equal(cookieLength, info.CookieLength);
        Assert.Equal(cookieOffset >= 0 ? datagram.AsSpan(cookieOffset, cookieLength).ToArray() : [], info.Cookie.ToArray());
        Assert.Equal(placeholders, info.CookiePlaceholderCount);

        Assert.True(info.HasAuthenticator);
        Assert.Equal(authenticatorOffset, info.AuthenticatorOffset);
        Assert.Equal(datagram.Length - authenticatorOffset, info.AuthenticatorLength);
        Assert.Equal(nonce, Convert.ToHexStringLower(info.Nonce));

        // No Additional Padding in any of them: the ciphertext runs to the end of the datagram.
        Assert.Equal(0, info.AdditionalPaddingLength);
        Assert.Equal(datagram.AsSpan(authenticatorOffset + 8 + 16).ToArray(), info.Ciphertext.ToArray());
        Assert.Equal(datagram.AsSpan(0, authenticatorOffset).ToArray(), info.AssociatedData.ToArray());
        Assert.Equal(0, info.UnauthenticatedFieldCount);
        Assert.True(info.HasRequiredNoncePadding(SivMaxNonceLength));
    }

    [Fact]
    public void TheAead15VectorCarriesTheExactUniqueIdCookieAndCiphertext()
    {
        using JsonDocument json = ReferenceFiles.LoadVectors("nts_aead15_selfgenerated_example.json");
        byte[] request = ReferenceFiles.Hex(json.RootElement.GetProperty("request_hex"));
        byte[] response = ReferenceFiles.Hex(json.RootElement.GetProperty("response_hex"));
        byte[] plaintext = ReferenceFiles.Hex(json.RootElement.GetProperty("response_plaintext_hex"));

        NtsPacketReader.TryRead(NtpPacketLayout.Parse(request), out NtsPacketInfo sent);
        Assert.Equal(Range(0x00, 32), sent.UniqueIdentifier.ToArray());
        Assert.Equal(Range(0x40, 100), sent.Cookie.ToArray());
        Assert.Equal("2e6df5d8b5ede0422ef52e844fccb9a5", Convert.ToHexStringLower(sent.Ciphertext));

        NtsPacketReader.TryRead(NtpPacketLayout.Parse(response), out NtsPacketInfo received);
        Assert.Equal(Range(0x00, 32), received.UniqueIdentifier.ToArray());
        Assert.False(received.HasCookie);

        // RFC 8915 §5.7: one cookie for the one sent plus one per placeholder, inside the ciphertext (plaintext + 16-byte tag).
        Assert.Equal(plaintext.Length + 16, received.Ciphertext.Length);
    }

    [Fact]
    public void TheNtpdRsResponseEchoesTheRequestsUniqueIdentifier()
    {
        NtsPacketReader.TryRead(NtpPacketLayout.Parse(Vector("ntpd-rs client")), out NtsPacketInfo request);
        byte[] uniqueId = request.UniqueIdentifier.ToArray();
        NtsPacketReader.TryRead(NtpPacketLayout.Parse(Vector("ntpd-rs server")), out NtsPacketInfo response);
        Assert.Equal(uniqueId, response.UniqueIdentifier.ToArray());

        using JsonDocument json = ReferenceFiles.LoadVectors("ntpd-rs_captured_nts_packets.json");
        byte[] plaintext = ReferenceFiles.Hex(json.RootElement.GetProperty("test_nts_captured_server").GetProperty("decrypted_plaintext_hex"));
        Assert.Equal(plaintext.Length + 16, response.Ciphertext.Length);
    }

    public static TheoryData<string, string, int> Plaintexts() => new()
    {
        { "nts_aead15_selfgenerated_example.json", "response_plaintext_hex", 2 },
        { "ntpd-rs_captured_nts_packets.json", "test_nts_captured_server.decrypted_plaintext_hex", 1 },
        { "ntpd-rs_captured_nts_packets.json", "test_nts_captured_client.decrypted_plaintext_hex", 0 },
    };

    // RFC 8915 §5.7: the server's new cookies travel as NTS Cookie fields inside the ciphertext.
    [Theory]
    [MemberData(nameof(Plaintexts))]
    public void DecryptedPlaintextsHoldTheNewCookies(string file, string path, int cookies)
    {
        using JsonDocument json = ReferenceFiles.LoadVectors(file);
        JsonElement element = json.RootElement;
        foreach (string part in path.Split('.'))
        {
            element = element.GetProperty(part);
        }

        byte[] plaintext = ReferenceFiles.Hex(element);
        var reader = new NtsPlaintextReader(plaintext);
        int count = 0;
        while (reader.TryReadNext(out ExtensionField field, out NtpParseStatus status))
        {
            Assert.Equal(NtpParseStatus.Ok, status);
            Assert.Equal(ExtensionFieldType.NtsCookie, field.Type);
            count++;
        }

        Assert.True(reader.IsAtEnd);
        Assert.Equal(cookies, count);
    }

    [Fact]
    public void TheAead15ResponseCookiesAreTheExpectedBytes()
    {
        using JsonDocument json = ReferenceFiles.LoadVectors("nts_aead15_selfgenerated_example.json");
        byte[] plaintext = ReferenceFiles.Hex(json.RootElement.GetProperty("response_plaintext_hex"));
        var reader = new NtsPlaintextReader(plaintext);
        Assert.True(reader.TryReadNext(out ExtensionField first, out _));
        Assert.Equal(Range(0x50, 100), first.Value.ToArray());
        Assert.Equal(0, first.Offset);
        Assert.True(reader.TryReadNext(out ExtensionField second, out _));
        Assert.Equal(Range(0x60, 100), second.Value.ToArray());
        Assert.Equal(104, second.Offset);
        Assert.False(reader.TryReadNext(out _, out _));
    }

    [Fact]
    public void TheWriterReproducesTheAead15RequestByteForByte()
    {
        byte[] expected = Vector("AEAD 15 request");
        NtsPacketInfo info = Read(expected);
        byte[] uniqueId = info.UniqueIdentifier.ToArray();
        byte[] cookie = info.Cookie.ToArray();
        byte[] nonce = info.Nonce.ToArray();
        byte[] ciphertext = info.Ciphertext.ToArray();

        byte[] datagram = new byte[expected.Length];
        expected.AsSpan(0, 48).CopyTo(datagram);
        Assert.True(NtsPacketWriter.TryWriteRequestFields(datagram.AsSpan(48), uniqueId, cookie, 1, out int fields));
        Assert.Equal(NtsPacketWriter.GetRequestFieldsLength(32, 100, 1), fields);
        int authenticator = 48 + fields;
        Assert.Equal(expected.Length - authenticator, NtsPacketWriter.GetAuthenticatorLength(16, 16, SivMaxNonceLength));
        Assert.True(NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(authenticator), 16, 16, SivMaxNonceLength, out int nonceOffset, out int ciphertextOffset, out int written));
        Assert.Equal(expected.Length, authenticator + written);

        // The caller seals in place: associated data is datagram[..authenticator].
        nonce.CopyTo(datagram, authenticator + nonceOffset);
        ciphertext.CopyTo(datagram, authenticator + ciphertextOffset);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(datagram));
    }

    [Theory]
    [InlineData("AEAD 15 response", "nts_aead15_selfgenerated_example.json", "response_plaintext_hex")]
    [InlineData("ntpd-rs server", "ntpd-rs_captured_nts_packets.json", "test_nts_captured_server")]
    public void TheWriterReproducesServerResponsesByteForByte(string name, string file, string plaintextPath)
    {
        byte[] expected = Vector(name);
        NtsPacketInfo info = Read(expected);
        using JsonDocument json = ReferenceFiles.LoadVectors(file);
        JsonElement element = json.RootElement.GetProperty(plaintextPath);
        byte[] plaintext = ReferenceFiles.Hex(element.ValueKind == JsonValueKind.Object ? element.GetProperty("decrypted_plaintext_hex") : element);

        // The plaintext is the new cookies as NTS Cookie fields.
        byte[] rebuilt = new byte[plaintext.Length];
        int position = 0;
        var reader = new NtsPlaintextReader(plaintext);
        while (reader.TryReadNext(out ExtensionField cookie, out _))
        {
            Assert.True(NtsPacketWriter.TryWriteCookie(rebuilt.AsSpan(position), cookie.Value, out int n));
            position += n;
        }

        Assert.Equal(plaintext, rebuilt);

        byte[] datagram = new byte[expected.Length];
        expected.AsSpan(0, 48).CopyTo(datagram);
        Assert.True(NtsPacketWriter.TryWriteUniqueIdentifier(datagram.AsSpan(48), info.UniqueIdentifier, out int fields));
        int authenticator = 48 + fields;
        Assert.True(NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(authenticator), 16, plaintext.Length + 16, out int nonceOffset, out int ciphertextOffset, out int written));
        Assert.Equal(expected.Length, authenticator + written);
        info.Nonce.CopyTo(datagram.AsSpan(authenticator + nonceOffset));
        info.Ciphertext.CopyTo(datagram.AsSpan(authenticator + ciphertextOffset));
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(datagram));
    }

    [Fact]
    public void TheWriterReproducesTheNtpdRsRequestByteForByte()
    {
        byte[] expected = Vector("ntpd-rs client");
        NtsPacketInfo info = Read(expected);
        byte[] datagram = new byte[expected.Length];
        expected.AsSpan(0, 48).CopyTo(datagram);
        Assert.True(NtsPacketWriter.TryWriteRequestFields(datagram.AsSpan(48), info.UniqueIdentifier, info.Cookie, 0, out int fields));
        Assert.True(NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(48 + fields), 16, 16, SivMaxNonceLength, out int nonceOffset, out int ciphertextOffset, out _));
        info.Nonce.CopyTo(datagram.AsSpan(48 + fields + nonceOffset));
        info.Ciphertext.CopyTo(datagram.AsSpan(48 + fields + ciphertextOffset));
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(datagram));
    }

    // RFC 8915 §5.6: with a 12-byte nonce and an AEAD whose N_MAX is 16 or more, a request pads to N_REQ = 16.
    [Fact]
    public void AClientRequestIsPaddedSoTheServerCanUseALongerNonce()
    {
        Assert.Equal(16, NtsPacketWriter.GetRequiredNonceFieldLength(SivMaxNonceLength));
        Assert.Equal(12, NtsPacketWriter.GetRequiredNonceFieldLength(12));
        Assert.Equal(8, NtsPacketWriter.GetRequiredNonceFieldLength(5));

        byte[] padded = BuildRequest(nonceLength: 12, maxNonceLength: SivMaxNonceLength);
        NtsPacketInfo info = Read(padded);
        Assert.Equal(4, info.AdditionalPaddingLength);
        Assert.Equal(12, info.Nonce.Length);
        Assert.True(info.HasRequiredNoncePadding(SivMaxNonceLength));

        byte[] unpadded = BuildRequest(nonceLength: 12, maxNonceLength: 1);
        NtsPacketInfo bare = Read(unpadded);
        Assert.Equal(0, bare.AdditionalPaddingLength);
        Assert.False(bare.HasRequiredNoncePadding(SivMaxNonceLength));
        Assert.True(bare.HasRequiredNoncePadding(12));
    }

    [Fact]
    public void AnAuthenticatorIsAlwaysLongEnoughToBeTheLastFieldWithoutAMac()
    {
        Assert.Equal(28, NtsPacketWriter.GetAuthenticatorLength(1, 16));
        Assert.Equal(36, NtsPacketWriter.GetAuthenticatorLength(5, 17));
        Assert.Equal(40, NtsPacketWriter.GetAuthenticatorLength(1, 16, SivMaxNonceLength));
        Assert.Throws<ArgumentOutOfRangeException>(() => NtsPacketWriter.GetAuthenticatorLength(0, 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => NtsPacketWriter.GetAuthenticatorLength(16, 15));
    }

    [Fact]
    public void WritersRefuseWhatTheReaderWouldReject()
    {
        var buffer = new byte[1024];
        Assert.Throws<ArgumentException>(() => NtsPacketWriter.TryWriteUniqueIdentifier(buffer, new byte[31], out _));
        Assert.Throws<ArgumentException>(() => NtsPacketWriter.TryWriteCookie(buffer, [], out _));
        Assert.Throws<ArgumentException>(() => NtsPacketWriter.TryWriteRequestFields(buffer, new byte[31], new byte[100], 0, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => NtsPacketWriter.TryWriteRequestFields(buffer, new byte[32], new byte[100], -1, out _));
        Assert.False(NtsPacketWriter.TryWriteRequestFields(buffer.AsSpan(0, 36 + 104), new byte[32], new byte[100], 1, out int written));
        Assert.Equal(0, written);
        Assert.All(buffer, b => Assert.Equal(0, b));
        Assert.False(NtsPacketWriter.TryWriteAuthenticatorHeader(buffer.AsSpan(0, 39), 16, 16, out _, out _, out written));
    }

    [Fact]
    public void APlainNtpPacketHasNoNtsFields()
    {
        byte[] datagram = Packets.Concat(Packets.Header(), Packets.Mac(7, 20));
        Assert.Equal(NtsParseStatus.NoNtsFields, NtsPacketReader.TryRead(NtpPacketLayout.Parse(datagram), out _, out int offset));
        Assert.Equal(48, offset);
    }

    // RFC 8915 §5.7: an NTS NAK carries the Unique Identifier and no authenticator; the client matches it to a request.
    [Fact]
    public void AnNtsNakCarriesTheUniqueIdentifierOnly()
    {
        byte[] uniqueId = Range(0x20, 32);
        byte[] datagram = Packets.Concat(Packets.Header(4, NtpMode.Server), Field(ExtensionFieldType.UniqueIdentifier, uniqueId));
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(NtpPacketLayout.Parse(datagram), out NtsPacketInfo info));
        Assert.Equal(uniqueId, info.UniqueIdentifier.ToArray());
        Assert.False(info.HasAuthenticator);
        Assert.False(info.HasCookie);
        Assert.True(info.AssociatedData.IsEmpty);
        Assert.True(info.Nonce.IsEmpty);
        Assert.False(info.HasRequiredNoncePadding(12));
    }

    // RFC 8915 §5.7: fields after the authenticator are unauthenticated and discarded, even NTS ones.
    [Fact]
    public void FieldsAfterTheAuthenticatorAreIgnored()
    {
        byte[] request = Vector("AEAD 15 request");
        byte[] datagram = Packets.Concat(request, Field(ExtensionFieldType.UniqueIdentifier, Range(0x99, 32)), Field(ExtensionFieldType.NtsCookie, new byte[24]));
        NtsPacketInfo info = Read(datagram);
        Assert.Equal(2, info.UnauthenticatedFieldCount);
        Assert.Equal(Range(0x00, 32), info.UniqueIdentifier.ToArray());
        Assert.Equal(Range(0x40, 100), info.Cookie.ToArray());
        Assert.Equal(request.AsSpan(0, 292).ToArray(), info.AssociatedData.ToArray());
    }

    public static TheoryData<string, int, ushort, NtsParseStatus, int> CorruptedRequests() => new()
    {
        // description, offset of the 16-bit word to overwrite, new value, status, error offset (AEAD 15 request:
        // unique id at 48, cookie at 84, placeholder at 188, authenticator at 292)
        { "nonce length past the field", 296, 17, NtsParseStatus.InvalidAuthenticator, 292 },
        { "ciphertext length past the field", 298, 21, NtsParseStatus.InvalidAuthenticator, 292 },
        { "nonce length of 65535", 296, 0xFFFF, NtsParseStatus.InvalidAuthenticator, 292 },
        { "empty nonce", 296, 0, NtsParseStatus.InvalidAuthenticator, 292 },
        { "ciphertext shorter than a tag", 298, 15, NtsParseStatus.InvalidAuthenticator, 292 },
        { "second unique identifier", 84, ExtensionFieldType.UniqueIdentifier, NtsParseStatus.DuplicateUniqueIdentifier, 84 },
        { "second cookie", 188, ExtensionFieldType.NtsCookie, NtsParseStatus.DuplicateCookie, 188 },
        { "placeholder without a cookie", 84, 0x7F04, NtsParseStatus.CookiePlaceholderWithoutCookie, 188 },
        { "no unique identifier", 48, 0x7F04, NtsParseStatus.MissingUniqueIdentifier, 48 },
        { "symmetric active mode", 0, 0x2100, NtsParseStatus.InvalidMode, 84 },
    };

    [Theory]
    [MemberData(nameof(CorruptedRequests))]
    public void CorruptedNtsFieldsAreRejectedWithTheirOffset(string description, int wordOffset, ushort value, NtsParseStatus expected, int expectedOffset)
    {
        byte[] datagram = Vector("AEAD 15 request");
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(wordOffset), value);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout));
        Assert.Equal(expected, NtsPacketReader.TryRead(layout, out NtsPacketInfo info, out int offset));
        Assert.Equal(expectedOffset, offset);
        Assert.False(info.HasAuthenticator);
        Assert.Contains(expectedOffset.ToString(), expected.Describe(offset));
        Assert.NotNull(description);
    }

    [Fact]
    public void AShortUniqueIdentifierIsRejected()
    {
        byte[] datagram = Packets.Concat(Packets.Header(), Field(ExtensionFieldType.UniqueIdentifier, new byte[28]), Field(ExtensionFieldType.NtsCookie, new byte[100]));
        Assert.Equal(NtsParseStatus.UniqueIdentifierTooShort, NtsPacketReader.TryRead(NtpPacketLayout.Parse(datagram), out _, out int offset));
        Assert.Equal(48, offset);
    }

    [Fact]
    public void APlaceholderOfADifferentLengthThanTheCookieIsRejected()
    {
        byte[] uid = Field(ExtensionFieldType.UniqueIdentifier, new byte[32]);
        byte[] cookie = Field(ExtensionFieldType.NtsCookie, new byte[100]);
        byte[] longer = Field(ExtensionFieldType.NtsCookiePlaceholder, new byte[104]);
        byte[] same = Field(ExtensionFieldType.NtsCookiePlaceholder, new byte[100]);

        byte[] datagram = Packets.Concat(Packets.Header(), uid, cookie, longer);
        Assert.Equal(NtsParseStatus.CookiePlaceholderLengthMismatch, NtsPacketReader.TryRead(NtpPacketLayout.Parse(datagram), out _, out int offset));
        Assert.Equal(48 + 36 + 104, offset);

        // The placeholders may agree with each other but not with a cookie that follows them.
        datagram = Packets.Concat(Packets.Header(), uid, longer, longer, cookie);
        Assert.Equal(NtsParseStatus.CookiePlaceholderLengthMismatch, NtsPacketReader.TryRead(NtpPacketLayout.Parse(datagram), out _, out offset));
        Assert.Equal(48 + 36, offset);

        datagram = Packets.Concat(Packets.Header(), uid, same, longer, cookie);
        Assert.Equal(NtsParseStatus.CookiePlaceholderLengthMismatch, NtsPacketReader.TryRead(NtpPacketLayout.Parse(datagram), out _, out offset));
        Assert.Equal(48 + 36 + 104, offset);

        datagram = Packets.Concat(Packets.Header(), uid, same, same, cookie);
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(NtpPacketLayout.Parse(datagram), out NtsPacketInfo info));
        Assert.Equal(2, info.CookiePlaceholderCount);
    }

    [Fact]
    public void AnAuthenticatorTooShortForItsLengthFieldsIsRejected()
    {
        byte[] uid = Field(ExtensionFieldType.UniqueIdentifier, new byte[32]);
        byte[] authenticator = Packets.Field(ExtensionFieldType.NtsAuthenticatorAndEncryptedExtensionFields, 28);
        BinaryPrimitives.WriteUInt32BigEndian(authenticator.AsSpan(4), 0x0004_0010);
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(NtpPacketLayout.Parse(Packets.Concat(Packets.Header(), uid, authenticator)), out _));
        BinaryPrimitives.WriteUInt32BigEndian(authenticator.AsSpan(4), 0x0008_0010);
        Assert.Equal(NtsParseStatus.InvalidAuthenticator, NtsPacketReader.TryRead(NtpPacketLayout.Parse(Packets.Concat(Packets.Header(), uid, authenticator)), out _));
        BinaryPrimitives.WriteUInt32BigEndian(authenticator.AsSpan(4), 0x0004_0011);
        Assert.Equal(NtsParseStatus.InvalidAuthenticator, NtsPacketReader.TryRead(NtpPacketLayout.Parse(Packets.Concat(Packets.Header(), uid, authenticator)), out _));
    }

    // Every prefix of every vector either fails the layout rule or reads without throwing, with spans inside the datagram.
    [Fact]
    public void TruncatedAndCorruptedPacketsNeverThrow()
    {
        var random = new Random(5906);
        int ok = 0;
        foreach (var (_, original) in Packets.NtsVectors())
        {
            for (int length = 0; length <= original.Length; length++)
            {
                ok += Exercise(original.AsSpan(0, length));
            }

            for (int i = 0; i < 5000; i++)
            {
                byte[] datagram = (byte[])original.Clone();
                for (int n = random.Next(1, 4); n > 0; n--)
                {
                    datagram[48 + random.Next(datagram.Length - 48)] = (byte)random.Next(256);
                }

                ok += Exercise(datagram);
            }
        }

        Assert.True(ok > 100);
    }

    [Fact]
    public void PlaintextFieldsMayBeShorterThan16BytesButMustBeWordMultiples()
    {
        byte[] plaintext = [0x12, 0x34, 0x00, 0x04, 0x02, 0x04, 0x00, 0x08, 1, 2, 3, 4];
        var reader = new NtsPlaintextReader(plaintext);
        Assert.True(reader.TryReadNext(out ExtensionField first, out _));
        Assert.Equal(0x1234, first.Type);
        Assert.Equal(0, first.Value.Length);
        Assert.True(reader.TryReadNext(out ExtensionField second, out _));
        Assert.Equal([1, 2, 3, 4], second.Value.ToArray());
        Assert.Equal(4, second.Offset);
        Assert.True(reader.IsAtEnd);

        Assert.Equal(NtpParseStatus.InvalidExtensionFieldLength, ReadAll([0, 0, 0, 0]));
        Assert.Equal(NtpParseStatus.MisalignedExtensionFieldLength, ReadAll([0, 0, 0, 6, 0, 0]));
        Assert.Equal(NtpParseStatus.ExtensionFieldTruncated, ReadAll([0, 0, 0, 8, 0, 0]));
        Assert.Equal(NtpParseStatus.ExtensionFieldTruncated, ReadAll([0, 0, 0, 4, 0, 0]));
        Assert.Equal(NtpParseStatus.TooManyExtensionFields, ReadAll(new byte[4 * 65].Select((_, i) => i % 4 == 3 ? (byte)4 : (byte)0).ToArray()));
    }

    [Fact]
    public void ReadingAndWritingNtsFieldsAllocatesNothing()
    {
        byte[][] datagrams = Packets.NtsVectors().Select(v => v.Datagram).ToArray();
        using JsonDocument json = ReferenceFiles.LoadVectors("nts_aead15_selfgenerated_example.json");
        byte[] plaintext = ReferenceFiles.Hex(json.RootElement.GetProperty("response_plaintext_hex"));
        byte[] output = new byte[400];

        for (int i = 0; i < 100; i++)
        {
            Work(datagrams, plaintext, output);
        }

        long sum = 0;
        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    sum += Work(datagrams, plaintext, output);
                }
            },
            "1000 rounds of NTS field reads and writes");
        Assert.NotEqual(0, sum);
    }

    private static long Work(byte[][] datagrams, byte[] plaintext, byte[] output)
    {
        long sum = 0;
        foreach (byte[] datagram in datagrams)
        {
            if (NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout) == NtpParseStatus.Ok
                && NtsPacketReader.TryRead(layout, out NtsPacketInfo info) == NtsParseStatus.Ok)
            {
                sum += info.UniqueIdentifier[0] + info.Cookie.Length + info.Nonce.Length + info.Ciphertext.Length + info.AssociatedData.Length;
                NtsPacketWriter.TryWriteRequestFields(output.AsSpan(48), info.UniqueIdentifier, info.Nonce, 2, out int written);
                NtsPacketWriter.TryWriteAuthenticatorHeader(output.AsSpan(48 + written), 16, 16, SivMaxNonceLength, out _, out _, out int n);
                sum += written + n;
            }
        }

        var reader = new NtsPlaintextReader(plaintext);
        while (reader.TryReadNext(out ExtensionField field, out _))
        {
            sum += field.Value.Length;
        }

        return sum;
    }

    private static int Exercise(ReadOnlySpan<byte> datagram)
    {
        if (NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout) != NtpParseStatus.Ok)
        {
            return 0;
        }

        NtsParseStatus status = NtsPacketReader.TryRead(layout, out NtsPacketInfo info, out int offset);
        Assert.InRange(offset, 0, datagram.Length);
        Assert.False(string.IsNullOrEmpty(status.Describe(offset)));
        if (status != NtsParseStatus.Ok)
        {
            return 0;
        }

        // Every span is inside the datagram (slicing would throw otherwise) and the authenticator's parts fit it.
        Assert.True(info.UniqueIdentifier.Length >= 32);
        int total = info.UniqueIdentifier.Length + info.Cookie.Length + info.Nonce.Length + info.Ciphertext.Length + info.AssociatedData.Length;
        if (info.HasAuthenticator)
        {
            Assert.True(info.Nonce.Length >= 1 && info.Ciphertext.Length >= 16);
            Assert.True(info.AdditionalPaddingLength >= 0);
            Assert.True(info.AuthenticatorOffset + info.AuthenticatorLength <= datagram.Length);
        }

        return total > 0 ? 1 : 0;
    }

    private static NtpParseStatus ReadAll(byte[] plaintext)
    {
        var reader = new NtsPlaintextReader(plaintext);
        NtpParseStatus status;
        while (reader.TryReadNext(out _, out status))
        {
        }

        Assert.False(reader.IsAtEnd);
        return status;
    }

    private static byte[] BuildRequest(int nonceLength, int maxNonceLength)
    {
        byte[] datagram = new byte[48 + NtsPacketWriter.GetRequestFieldsLength(32, 100, 0) + NtsPacketWriter.GetAuthenticatorLength(nonceLength, 16, maxNonceLength)];
        Packets.Header().CopyTo(datagram, 0);
        Assert.True(NtsPacketWriter.TryWriteRequestFields(datagram.AsSpan(48), Range(0, 32), Range(0x40, 100), 0, out int fields));
        Assert.True(NtsPacketWriter.TryWriteAuthenticatorHeader(datagram.AsSpan(48 + fields), nonceLength, 16, maxNonceLength, out _, out _, out int written));
        Assert.Equal(datagram.Length, 48 + fields + written);
        return datagram;
    }

    private static NtsPacketInfo Read(byte[] datagram)
    {
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout));
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));
        return info;
    }

    private static byte[] Vector(string name) => Packets.NtsVectors().Single(v => v.Name == name).Datagram;

    private static byte[] Field(ushort type, byte[] value)
    {
        var field = new byte[ExtensionFieldWriter.GetPaddedLength(value.Length)];
        Assert.True(ExtensionFieldWriter.TryWrite(field, type, value, out _));
        return field;
    }

    private static byte[] Range(int start, int count) => Enumerable.Range(start, count).Select(i => (byte)i).ToArray();
}
