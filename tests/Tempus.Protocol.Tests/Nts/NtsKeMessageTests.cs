using System.Buffers;
using System.Buffers.Binary;

namespace Tempus.Protocol.Tests;

public class NtsKeMessageTests
{
    private static readonly byte[] s_nextProtocol = Record(0x8001, 0x00, 0x00);
    private static readonly byte[] s_aead15 = Record(0x8004, 0x00, 0x0F);
    private static readonly byte[] s_endOfMessage = Record(0x8000);

    public static TheoryData<string> ValidMessages() => new(NtsKeMessages.AllValid().Select(m => m.Name));

    // RFC 8915 §4: the Netnod client offered NTPv4 with AES-SIV-CMAC-256 and nothing else.
    [Fact]
    public void TheRealNetnodRequestParses()
    {
        NtsKeRequest request = NtsKeMessages.ParseRequest(NtsKeMessages.NetnodRequest);
        Assert.Equal([NtsNextProtocol.Ntpv4], request.NextProtocols);
        Assert.Equal([NtsAeadAlgorithm.AesSivCmac256], request.AeadAlgorithms);
        Assert.Null(request.Server);
        Assert.Null(request.Port);
        Assert.False(request.CompliantAes128GcmSivExporter);
    }

    // RFC 8915 §4.1.6: eight cookies, as servers SHOULD send; no server or port record, so the client uses the
    // NTS-KE server's address and port 123.
    [Fact]
    public void TheRealNetnodResponseParsesWithItsEightCookies()
    {
        NtsKeResponse response = NtsKeMessages.ParseResponse(NtsKeMessages.NetnodResponse);
        string[] cookies = NtsKeMessages.Load().GetProperty("response_records").EnumerateArray()
            .Where(r => r.GetProperty("type").GetInt32() == 5)
            .Select(r => r.GetProperty("body_hex").GetString()!)
            .ToArray();

        Assert.False(response.IsError);
        Assert.Equal([NtsNextProtocol.Ntpv4], response.NextProtocols);
        Assert.Equal(NtsAeadAlgorithm.AesSivCmac256, response.AeadAlgorithm);
        Assert.Equal(8, cookies.Length);
        Assert.Equal(cookies, response.Cookies.Select(Convert.ToHexStringLower));
        Assert.Null(response.Server);
        Assert.Null(response.Port);
        Assert.Null(response.WarningCode);
        Assert.False(response.CompliantAes128GcmSivExporter);
    }

    [Fact]
    public void ARequestRoundTripsThroughWriterAndParser()
    {
        NtsKeRequest original = NtsKeMessages.FullRequest;
        NtsKeRequest parsed = NtsKeMessages.ParseRequest(NtsKeMessages.Write(original));
        Assert.Equal(original.NextProtocols, parsed.NextProtocols);
        Assert.Equal([NtsAeadAlgorithm.Aes128GcmSiv, NtsAeadAlgorithm.AesSivCmac256], parsed.AeadAlgorithms);
        Assert.Equal("time.example.net.", parsed.Server);
        Assert.Equal((ushort)4123, parsed.Port);
        Assert.True(parsed.CompliantAes128GcmSivExporter);
    }

    [Fact]
    public void TheNetnodRequestIsWhatTheWriterProducesForTheSameOffer()
    {
        byte[] written = NtsKeMessages.Write(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256] });
        Assert.Equal(NtsKeMessages.NetnodRequest, written);
    }

    [Fact]
    public void AResponseRoundTripsThroughWriterAndParser()
    {
        NtsKeResponse original = NtsKeMessages.FullResponse;
        NtsKeResponse parsed = NtsKeMessages.ParseResponse(NtsKeMessages.Write(original));
        Assert.Equal(original.NextProtocols, parsed.NextProtocols);
        Assert.Equal(NtsAeadAlgorithm.Aes128GcmSiv, parsed.AeadAlgorithm);
        Assert.Equal(original.Cookies, parsed.Cookies);
        Assert.Equal("2001:db8::123", parsed.Server);
        Assert.Equal((ushort)123, parsed.Port);
        Assert.Equal((ushort)7, parsed.WarningCode);
        Assert.Null(parsed.ErrorCode);
        Assert.True(parsed.CompliantAes128GcmSivExporter);
    }

    // RFC 8915 §4.1.3: a server that rejects a request sends the Error record and End of Message.
    [Fact]
    public void AnErrorResponseIsTheErrorRecordAndEndOfMessage()
    {
        byte[] written = NtsKeMessages.Write(NtsKeResponse.CreateError(NtsKeErrorCode.UnrecognizedCriticalRecord));
        Assert.Equal("8002000200008000" + "0000", Convert.ToHexString(written));
        NtsKeResponse parsed = NtsKeMessages.ParseResponse(written);
        Assert.True(parsed.IsError);
        Assert.Equal(NtsKeErrorCode.UnrecognizedCriticalRecord, parsed.ErrorCode);
        Assert.Empty(parsed.NextProtocols);
    }

    // RFC 8915 §4.1.5: an empty AEAD record in a response means no offered algorithm is supported; no cookies then.
    [Fact]
    public void AResponseWithoutACommonAlgorithmHasAnEmptyAeadRecord()
    {
        byte[] written = NtsKeMessages.Write(new NtsKeResponse());
        Assert.Equal("80010002000080040000" + "80000000", Convert.ToHexString(written));
        NtsKeResponse parsed = NtsKeMessages.ParseResponse(written);
        Assert.Null(parsed.AeadAlgorithm);
        Assert.Empty(parsed.Cookies);
    }

    [Theory]
    [MemberData(nameof(ValidMessages))]
    public void EveryTruncatedPrefixReturnsFalseAndConsumesNothing(string name)
    {
        var (_, isRequest, message) = NtsKeMessages.AllValid().Single(m => m.Name == name);
        for (int length = 0; length < message.Length; length++)
        {
            Assert.False(NtsKeMessages.TryParse(isRequest, new ReadOnlySequence<byte>(message, 0, length), isFinalBlock: false, out long consumed));
            Assert.Equal(0, consumed);
        }

        Assert.True(NtsKeMessages.TryParse(isRequest, new ReadOnlySequence<byte>(message), isFinalBlock: false, out long all));
        Assert.Equal(message.Length, all);
    }

    [Theory]
    [MemberData(nameof(ValidMessages))]
    public void OneParserFedAByteAtATimeCompletesExactlyAtEndOfMessage(string name)
    {
        var (_, isRequest, message) = NtsKeMessages.AllValid().Single(m => m.Name == name);
        byte[] withTrailer = Packets.Concat(message, [0xDE, 0xAD]);
        var requestParser = new NtsKeRequestParser();
        var responseParser = new NtsKeResponseParser();
        for (int length = 0; length <= withTrailer.Length; length++)
        {
            // Cut the buffer into segments as a pipe would, at a different place each time.
            var reader = new SequenceReader<byte>(NtsKeMessages.Segmented(withTrailer.AsSpan(0, length).ToArray(), length / 3, length / 2));
            bool complete = isRequest
                ? requestParser.TryParse(ref reader, out _)
                : responseParser.TryParse(ref reader, out _);
            Assert.Equal(length >= message.Length, complete);
            Assert.Equal(complete ? message.Length : 0, reader.Consumed);
            if (complete)
            {
                break;
            }

            Assert.True((isRequest ? requestParser.Examined : responseParser.Examined) <= length);
        }
    }

    [Theory]
    [MemberData(nameof(ValidMessages))]
    public void EveryWayOfSplittingAMessageIntoTwoSegmentsParses(string name)
    {
        var (_, isRequest, message) = NtsKeMessages.AllValid().Single(m => m.Name == name);
        for (int cut = 1; cut < message.Length; cut++)
        {
            Assert.True(NtsKeMessages.TryParse(isRequest, NtsKeMessages.Segmented(message, cut), isFinalBlock: true, out long consumed));
            Assert.Equal(message.Length, consumed);
        }
    }

    [Fact]
    public void AParserRejectsAReaderThatWasAdvancedBetweenCalls()
    {
        byte[] message = NtsKeMessages.NetnodResponse;
        var parser = new NtsKeResponseParser();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(message, 0, 200));
        Assert.False(parser.TryParse(ref reader, out _));
        Assert.Throws<InvalidOperationException>(() =>
        {
            var advanced = new SequenceReader<byte>(new ReadOnlySequence<byte>(message, 150, 60));
            return parser.TryParse(ref advanced, out _);
        });
    }

    public static TheoryData<string, bool, byte[], NtsKeProtocolError, int, string> MalformedMessages()
    {
        byte[] np = s_nextProtocol;
        byte[] aead = s_aead15;
        byte[] eom = s_endOfMessage;
        byte[] cookie = Record(0x0005, 1, 2, 3, 4);
        int npAead = np.Length + aead.Length;
        return new()
        {
            // RFC 8915 §4.1.1
            { "End of Message not critical", true, Packets.Concat(np, aead, Record(0x0000)), NtsKeProtocolError.CriticalBitNotSet, npAead, "End of Message (type 0) record at offset 12 does not have its critical bit set" },
            { "End of Message with a body", true, Packets.Concat(np, aead, Record(0x8000, 0)), NtsKeProtocolError.InvalidBodyLength, npAead, "End of Message (type 0) record at offset 12 has a body of 1 bytes" },
            { "missing End of Message", true, Packets.Concat(np, aead), NtsKeProtocolError.IncompleteMessage, npAead, "the stream ended at offset 12, after 2 records, without End of Message" },
            { "record cut short by the end of the stream", false, Packets.Concat(np, aead, cookie[..6]), NtsKeProtocolError.IncompleteMessage, npAead + 6, "ended at offset 18 inside the record that starts at offset 12" },
            { "lying length swallowing End of Message", false, Packets.Concat(np, aead, Record(0x0005, 1, 2), eom)[..^4].Concat(new byte[] { 0, 5, 0, 9, 1, 2 }).Concat(eom).ToArray(), NtsKeProtocolError.IncompleteMessage, npAead + 6 + 10, "inside the record that starts at offset 18" },

            // RFC 8915 §4.1.2
            { "Next Protocol not critical", true, Packets.Concat(Record(0x0001, 0, 0), aead, eom), NtsKeProtocolError.CriticalBitNotSet, 0, "Next Protocol Negotiation (type 1) record at offset 0 does not have its critical bit set" },
            { "duplicate Next Protocol", true, Packets.Concat(np, aead, np, eom), NtsKeProtocolError.DuplicateRecord, npAead, "Next Protocol Negotiation (type 1) record at offset 12 appears a second time" },
            { "missing Next Protocol", true, Packets.Concat(aead, eom), NtsKeProtocolError.MissingRecord, aead.Length, "End of Message at offset 6: no Next Protocol Negotiation record" },
            { "missing Next Protocol in a response", false, Packets.Concat(aead, cookie, eom), NtsKeProtocolError.MissingRecord, aead.Length + cookie.Length, "no Next Protocol Negotiation record" },
            { "odd-length Next Protocol", true, Packets.Concat(Record(0x8001, 0, 0, 0), aead, eom), NtsKeProtocolError.InvalidBodyLength, 0, "has a body of 3 bytes, but it is a list of 16-bit protocol ids" },
            { "empty Next Protocol in a request", true, Packets.Concat(Record(0x8001), aead, eom), NtsKeProtocolError.InvalidRecordBody, 0, "lists no protocol" },

            // RFC 8915 §4.1.3, §4.1.4, §4.1.6: server-only records
            { "Error in a request", true, Packets.Concat(np, aead, Record(0x8002, 0, 1), eom), NtsKeProtocolError.RecordNotAllowed, npAead, "Error (type 2) record at offset 12 is only sent by servers" },
            { "Warning in a request", true, Packets.Concat(np, aead, Record(0x8003, 0, 1), eom), NtsKeProtocolError.RecordNotAllowed, npAead, "Warning (type 3)" },
            { "cookie in a request", true, Packets.Concat(np, aead, cookie, eom), NtsKeProtocolError.RecordNotAllowed, npAead, "New Cookie for NTPv4 (type 5)" },
            { "Error not critical", false, Packets.Concat(Record(0x0002, 0, 1), eom), NtsKeProtocolError.CriticalBitNotSet, 0, "RFC 8915 §4.1.3" },
            { "Error of three bytes", false, Packets.Concat(Record(0x8002, 0, 1, 0), eom), NtsKeProtocolError.InvalidBodyLength, 0, "has a body of 3 bytes, but it must hold exactly one 16-bit code" },
            { "empty cookie", false, Packets.Concat(np, aead, Record(0x0005), eom), NtsKeProtocolError.InvalidBodyLength, npAead, "is empty" },

            // RFC 8915 §4.1.5
            { "odd-length AEAD list", true, Packets.Concat(np, Record(0x8004, 0, 15, 0), eom), NtsKeProtocolError.InvalidBodyLength, np.Length, "AEAD Algorithm Negotiation (type 4) record at offset 6 has a body of 3 bytes, but it is a list of 16-bit algorithm ids" },
            { "empty AEAD list in a request", true, Packets.Concat(np, Record(0x8004), eom), NtsKeProtocolError.InvalidRecordBody, np.Length, "lists no algorithm" },
            { "two algorithms in a response", false, Packets.Concat(np, Record(0x8004, 0, 15, 0, 30), cookie, eom), NtsKeProtocolError.InvalidRecordBody, np.Length, "lists 2 algorithms, but a response chooses at most one" },
            { "duplicate AEAD list", true, Packets.Concat(np, aead, aead, eom), NtsKeProtocolError.DuplicateRecord, npAead, "appears a second time" },
            { "NTPv4 without AEAD", true, Packets.Concat(np, eom), NtsKeProtocolError.MissingRecord, np.Length, "NTPv4 was negotiated without an AEAD Algorithm Negotiation record" },
            { "NTPv4 and an algorithm but no cookie", false, Packets.Concat(np, aead, eom), NtsKeProtocolError.MissingRecord, npAead, "sent no cookie" },

            // RFC 8915 §4.1.7, §4.1.8
            { "port of one byte", true, Packets.Concat(np, aead, Record(0x0007, 1), eom), NtsKeProtocolError.InvalidBodyLength, npAead, "must hold exactly one 16-bit port" },
            { "duplicate server", false, Packets.Concat(np, aead, cookie, Ascii(0x0006, "a.example"), Ascii(0x0006, "b.example"), eom), NtsKeProtocolError.DuplicateRecord, npAead + cookie.Length + 13, "NTPv4 Server Negotiation (type 6)" },
            { "server with a space", false, Packets.Concat(np, aead, cookie, Ascii(0x0006, "a example"), eom), NtsKeProtocolError.InvalidRecordBody, npAead + cookie.Length, "space or control character" },
            { "server with UTF-8", false, Packets.Concat(np, aead, cookie, Record(0x0006, 0x74, 0xC3, 0xA9), eom), NtsKeProtocolError.InvalidRecordBody, npAead + cookie.Length, "A-labels" },
            { "IPv6 server with a zone", false, Packets.Concat(np, aead, cookie, Ascii(0x0006, "fe80::1%eth0"), eom), NtsKeProtocolError.InvalidRecordBody, npAead + cookie.Length, "zone identifier" },
            { "IPv4 server out of range", false, Packets.Concat(np, aead, cookie, Ascii(0x0006, "192.0.2.256"), eom), NtsKeProtocolError.InvalidRecordBody, npAead + cookie.Length, "four dotted decimal numbers" },
            { "empty server", false, Packets.Concat(np, aead, cookie, Record(0x0006), eom), NtsKeProtocolError.InvalidBodyLength, npAead + cookie.Length, "host name or address of 1 to 255 characters" },
            { "compliant exporter with a body", true, Packets.Concat(np, aead, Record(0x0400, 0), eom), NtsKeProtocolError.InvalidBodyLength, npAead, "Compliant AES-128-GCM-SIV Exporter (type 1024)" },

            // RFC 8915 §4: unknown critical records
            { "unknown critical record in a request", true, Packets.Concat(np, aead, Record(0x8123, 1, 2), eom), NtsKeProtocolError.UnrecognizedCriticalRecord, npAead, "type 291 record at offset 12 is not a record type this implementation knows, and its critical bit is set" },
            { "unknown critical record in a response", false, Packets.Concat(np, aead, cookie, Record(0xFFFF), eom), NtsKeProtocolError.UnrecognizedCriticalRecord, npAead + cookie.Length, "type 32767" },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedMessages))]
    public void MalformedMessagesAreRejectedWithOffsetAndCause(string name, bool isRequest, byte[] message, NtsKeProtocolError error, int offset, string cause)
    {
        Assert.NotNull(name);
        var e = Assert.Throws<NtsKeProtocolException>(() => NtsKeMessages.TryParse(isRequest, new ReadOnlySequence<byte>(message), isFinalBlock: true, out _));
        Assert.Equal(error, e.Error);
        Assert.Equal(offset, e.Offset);
        Assert.Contains(cause, e.Message);
        Assert.StartsWith(isRequest ? "NTS-KE request: " : "NTS-KE response: ", e.Message);
        Assert.Equal(error == NtsKeProtocolError.UnrecognizedCriticalRecord ? NtsKeErrorCode.UnrecognizedCriticalRecord : NtsKeErrorCode.BadRequest, e.ErrorCode);
    }

    // RFC 8915 §4: unknown records without the critical bit are ignored.
    [Fact]
    public void UnknownNonCriticalRecordsAreIgnored()
    {
        byte[] message = Packets.Concat(s_nextProtocol, Record(0x0123, 1, 2, 3), s_aead15, Record(0x7FFF), s_endOfMessage);
        NtsKeRequest request = NtsKeMessages.ParseRequest(message);
        Assert.Equal([NtsAeadAlgorithm.AesSivCmac256], request.AeadAlgorithms);
    }

    // RFC 8915 §4.1.7, §4.1.8: servers MAY set the critical bit on server and port records.
    [Fact]
    public void CriticalServerAndPortRecordsFromAServerAreAccepted()
    {
        byte[] message = Packets.Concat(s_nextProtocol, s_aead15, Ascii(0x8006, "192.0.2.7"), Record(0x8007, 0x11, 0x5C), Record(0x0005, 9, 9, 9, 9), s_endOfMessage);
        NtsKeResponse response = NtsKeMessages.ParseResponse(message);
        Assert.Equal("192.0.2.7", response.Server);
        Assert.Equal((ushort)4444, response.Port);
    }

    [Fact]
    public void AMalformedRecordIsRejectedBeforeEndOfMessageArrives()
    {
        byte[] message = Packets.Concat(s_nextProtocol, s_nextProtocol);
        var e = Assert.Throws<NtsKeProtocolException>(() => NtsKeMessages.TryParse(true, new ReadOnlySequence<byte>(message), isFinalBlock: false, out _));
        Assert.Equal(NtsKeProtocolError.DuplicateRecord, e.Error);
    }

    [Fact]
    public void ARecordBodyOverTheLimitIsRejected()
    {
        byte[] message = Packets.Concat(s_nextProtocol, s_aead15, Record(0x0005, new byte[NtsKeLimits.MaxRecordBodyLength + 1]));
        var e = Assert.Throws<NtsKeProtocolException>(() => NtsKeMessages.TryParse(false, new ReadOnlySequence<byte>(message, 0, 16), isFinalBlock: false, out _));
        Assert.Equal(NtsKeProtocolError.RecordBodyTooLong, e.Error);
        Assert.Equal(12, e.Offset);
        Assert.Contains("NTS-KE response: New Cookie for NTPv4 (type 5) record at offset 12 has a body of 1025 bytes, more than the limit of 1024", e.Message);
    }

    [Fact]
    public void ACookieAtTheBodyLimitIsAccepted()
    {
        byte[] cookie = Enumerable.Range(0, NtsKeLimits.MaxRecordBodyLength).Select(i => (byte)i).ToArray();
        NtsKeResponse response = NtsKeMessages.ParseResponse(Packets.Concat(s_nextProtocol, s_aead15, Record(0x0005, cookie), s_endOfMessage));
        Assert.Equal(cookie, Assert.Single(response.Cookies));
    }

    [Theory]
    [InlineData(true, NtsKeLimits.MaxRequestLength)]
    [InlineData(false, NtsKeLimits.MaxResponseLength)]
    public void AMessageOverTheLimitIsRejectedBeforeItIsBuffered(bool isRequest, int limit)
    {
        var parts = new List<byte[]> { s_nextProtocol, s_aead15 };
        int length = s_nextProtocol.Length + s_aead15.Length;
        while (length + 1004 <= limit)
        {
            parts.Add(Record(0x0100, new byte[1000]));
            length += 1004;
        }

        int crossing = length;
        parts.Add(Record(0x0100, new byte[1000]));
        byte[] message = Packets.Concat([.. parts]);

        // Only the header of the record that crosses the limit has arrived.
        var e = Assert.Throws<NtsKeProtocolException>(() => NtsKeMessages.TryParse(isRequest, new ReadOnlySequence<byte>(message, 0, crossing + 4), isFinalBlock: false, out _));
        Assert.Equal(NtsKeProtocolError.MessageTooLong, e.Error);
        Assert.Equal(crossing, e.Offset);
        Assert.Contains($"past the message limit of {limit} bytes", e.Message);

        // Exactly at the limit is fine.
        var exact = new List<byte[]> { s_nextProtocol, s_aead15, Record(0x0005, 1, 2, 3, 4) };
        int remaining = limit - exact.Sum(p => p.Length) - s_endOfMessage.Length;
        while (remaining > 0)
        {
            int record = Math.Min(remaining, 1004);
            exact.Add(Record(0x0100, new byte[record - 4]));
            remaining -= record;
        }

        byte[] atLimit = Packets.Concat([.. exact, s_endOfMessage]);
        Assert.Equal(limit, atLimit.Length);
        Assert.True(NtsKeMessages.TryParse(isRequest, new ReadOnlySequence<byte>(isRequest ? Packets.Concat(atLimit[..12], Record(0x0100, 1, 2, 3, 4), atLimit[20..]) : atLimit), isFinalBlock: true, out long consumed));
        Assert.Equal(limit, consumed);
    }

    [Fact]
    public void TooManyRecordsAreRejected()
    {
        var parts = new List<byte[]> { s_nextProtocol, s_aead15 };
        parts.AddRange(Enumerable.Repeat(Record(0x0100), NtsKeLimits.MaxRecords - 3));
        byte[] atLimit = Packets.Concat([.. parts, s_endOfMessage]);
        Assert.Equal(NtsKeLimits.MaxRecords, parts.Count + 1);
        Assert.Equal([NtsAeadAlgorithm.AesSivCmac256], NtsKeMessages.ParseRequest(atLimit).AeadAlgorithms);

        byte[] overLimit = Packets.Concat([.. parts, Record(0x0100), s_endOfMessage]);
        var e = Assert.Throws<NtsKeProtocolException>(() => NtsKeMessages.TryParse(true, new ReadOnlySequence<byte>(overLimit), isFinalBlock: false, out _));
        Assert.Equal(NtsKeProtocolError.TooManyRecords, e.Error);
        Assert.Equal(overLimit.Length - 4, e.Offset);
        Assert.Contains("past the limit of 128 records", e.Message);
    }

    // RFC 8915 §4.1.6 has servers send eight cookies; like chrony, a client keeps at most eight.
    [Fact]
    public void CookiesPastTheEighthAreIgnored()
    {
        var parts = new List<byte[]> { s_nextProtocol, s_aead15 };
        parts.AddRange(Enumerable.Range(1, 10).Select(i => Record(0x0005, (byte)i, 0, 0, 0)));
        NtsKeResponse response = NtsKeMessages.ParseResponse(Packets.Concat([.. parts, s_endOfMessage]));
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (byte)i), response.Cookies.Select(c => c[0]));
    }

    public static TheoryData<string> ValidServerNames() => new()
    {
        "time.example.net", "time.example.net.", "ntp", "xn--bcher-kva.example", "192.0.2.1", "0.0.0.0", "255.255.255.255",
        "2001:db8::1", "::1", "::ffff:192.0.2.1", "a-b.c_d.example", "1a.example",
    };

    [Theory]
    [MemberData(nameof(ValidServerNames))]
    public void ServerNamesThatAreHostNamesOrAddressesAreAccepted(string server)
    {
        NtsKeResponse parsed = NtsKeMessages.ParseResponse(NtsKeMessages.Write(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256, Cookies = [[1, 2, 3, 4]], Server = server }));
        Assert.Equal(server, parsed.Server);
    }

    public static TheoryData<string> InvalidServerNames() => new()
    {
        "", ".", "time..example", "-time.example", "time-.example", "b\u00fccher.example", "192.0.2", "192.0.2.01", "192.0.2.1.5",
        "1.2.3.999", "[2001:db8::1]", "fe80::1%25eth0", "2001:db8::g", "time example", "a/b", new string('a', 64) + ".example",
        string.Join('.', Enumerable.Repeat("abcdefghi", 26)),
    };

    [Theory]
    [MemberData(nameof(InvalidServerNames))]
    public void TheWriterRefusesServerNamesThatAreNeitherHostNamesNorAddresses(string server)
    {
        var e = Assert.Throws<ArgumentException>(() => NtsKeMessageWriter.GetRequestLength(new NtsKeRequest { AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256], Server = server }));
        Assert.Contains("RFC 8915 §4.1.7", e.Message);
    }

    [Fact]
    public void TheWriterRefusesMessagesTheParsersWouldReject()
    {
        Assert.Throws<ArgumentException>(() => NtsKeMessageWriter.GetRequestLength(new NtsKeRequest { NextProtocols = [] }));
        Assert.Throws<ArgumentException>(() => NtsKeMessageWriter.GetRequestLength(new NtsKeRequest()));
        Assert.Throws<ArgumentException>(() => NtsKeMessageWriter.GetResponseLength(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256 }));
        Assert.Throws<ArgumentException>(() => NtsKeMessageWriter.GetResponseLength(new NtsKeResponse { AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256, Cookies = [[]] }));
        Assert.Throws<ArgumentException>(() => NtsKeMessageWriter.GetResponseLength(new NtsKeResponse
        {
            AeadAlgorithm = NtsAeadAlgorithm.AesSivCmac256,
            Cookies = Enumerable.Repeat(new byte[] { 1 }, NtsKeLimits.MaxCookies + 1).ToArray(),
        }));
    }

    [Fact]
    public void WritingIntoATooSmallBufferFailsWithoutWriting()
    {
        byte[] expected = NtsKeMessages.Write(NtsKeMessages.FullResponse);
        var buffer = new byte[expected.Length - 1];
        Assert.False(NtsKeMessageWriter.TryWriteResponse(buffer, NtsKeMessages.FullResponse, out int written));
        Assert.Equal(0, written);
        Assert.All(buffer, b => Assert.Equal(0, b));
    }

    // A parser facing arbitrary bytes returns true or false, or throws NtsKeProtocolException; nothing else.
    [Fact]
    public void RandomlyCorruptedMessagesNeverThrowAnythingButAProtocolException()
    {
        var random = new Random(8915);
        var valid = NtsKeMessages.AllValid().ToArray();
        int parsed = 0;
        int rejected = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var (_, isRequest, original) = valid[random.Next(valid.Length)];
            byte[] message = Mutate(random, original);
            try
            {
                var sequence = NtsKeMessages.Segmented(message, random.Next(message.Length + 1), random.Next(message.Length + 1));
                if (NtsKeMessages.TryParse(isRequest, sequence, isFinalBlock: random.Next(2) == 0, out long consumed))
                {
                    Assert.InRange(consumed, 4, message.Length);
                    parsed++;
                }
                else
                {
                    Assert.Equal(0, consumed);
                }
            }
            catch (NtsKeProtocolException e)
            {
                Assert.InRange(e.Offset, 0, message.Length);
                Assert.False(string.IsNullOrEmpty(e.Message));
                rejected++;
            }
        }

        Assert.True(parsed > 100 && rejected > 100, $"parsed {parsed}, rejected {rejected}");
    }

    private static byte[] Mutate(Random random, byte[] original)
    {
        byte[] message = (byte[])original.Clone();
        switch (random.Next(5))
        {
            case 0:
                message[random.Next(message.Length)] = (byte)random.Next(256);
                break;
            case 1:
                // Corrupt the type or length of the record at a random record boundary.
                int offset = 0;
                int target = random.Next(8);
                while (target-- > 0 && offset + 4 <= message.Length)
                {
                    offset += 4 + BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
                }

                if (offset + 4 <= message.Length)
                {
                    message[offset + random.Next(4)] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 2:
                Array.Resize(ref message, random.Next(message.Length));
                break;
            case 3:
                message = random.GetItems(message, random.Next(1, 64));
                break;
            default:
                for (int i = random.Next(1, 4); i > 0; i--)
                {
                    message[random.Next(message.Length)] ^= (byte)random.Next(1, 256);
                }

                break;
        }

        return message;
    }

    private static byte[] Record(ushort typeField, params byte[] body)
    {
        var record = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt16BigEndian(record, typeField);
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(2), (ushort)body.Length);
        body.CopyTo(record, 4);
        return record;
    }

    private static byte[] Ascii(ushort typeField, string text) => Record(typeField, System.Text.Encoding.ASCII.GetBytes(text));
}
