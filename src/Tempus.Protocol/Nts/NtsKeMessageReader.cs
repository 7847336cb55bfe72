using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Tempus.Protocol;

// The state machine shared by NtsKeRequestParser and NtsKeResponseParser. It validates records as they arrive and
// remembers how far it got, but consumes nothing from the caller's reader until End of Message: the caller keeps
// the whole message buffered (PipeReader.AdvanceTo(consumed: start, examined: end)) and calls again with more bytes.
internal sealed class NtsKeMessageReader
{
    private readonly bool _isRequest;
    private readonly int _maxMessageLength;
    private readonly string _what;

    private long _scanned;
    private int _records;
    private List<NtsNextProtocol>? _nextProtocols;
    private List<NtsAeadAlgorithm>? _aeadAlgorithms;
    private List<byte[]>? _cookies;
    private string? _server;
    private ushort? _port;
    private NtsKeErrorCode? _error;
    private ushort? _warning;
    private bool _compliantExporter;

    public NtsKeMessageReader(bool isRequest, int maxMessageLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessageLength, NtsKeRecord.HeaderSize);
        _isRequest = isRequest;
        _maxMessageLength = maxMessageLength;
        _what = isRequest ? "NTS-KE request" : "NTS-KE response";
    }

    public long Examined => _scanned;

    // Reads on until End of Message; true once the message is complete, with reader advanced past it.
    public bool TryReadMessage(ref SequenceReader<byte> reader, bool isFinalBlock)
    {
        if (reader.Remaining < _scanned)
        {
            throw new InvalidOperationException(
                $"the {_what} parser had already examined {_scanned} bytes but only {reader.Remaining} remain: pass the same message from its start on every call, without advancing the reader in between");
        }

        SequenceReader<byte> scan = reader;
        scan.Advance(_scanned);
        Span<byte> header = stackalloc byte[NtsKeRecord.HeaderSize];
        while (true)
        {
            long offset = _scanned;
            if (scan.Remaining > 0 && _records >= NtsKeLimits.MaxRecords)
            {
                Throw(NtsKeProtocolError.TooManyRecords, offset, $"{_what}: record at offset {offset} is past the limit of {NtsKeLimits.MaxRecords} records without End of Message");
            }

            if (scan.TryCopyTo(header))
            {
                int bodyLength = BinaryPrimitives.ReadUInt16BigEndian(header.Slice(2));
                if (bodyLength <= NtsKeLimits.MaxRecordBodyLength && offset + NtsKeRecord.HeaderSize + bodyLength > _maxMessageLength)
                {
                    var type = (NtsKeRecordType)(BinaryPrimitives.ReadUInt16BigEndian(header) & NtsKeRecord.MaxType);
                    Throw(NtsKeProtocolError.MessageTooLong, offset, $"{_what}: {NtsKeRecordReader.Describe(type)} record at offset {offset} ends at {offset + NtsKeRecord.HeaderSize + bodyLength}, past the message limit of {_maxMessageLength} bytes without End of Message");
                }
            }

            if (!NtsKeRecordReader.TryReadRecord(ref scan, NtsKeLimits.MaxRecordBodyLength, offset, _what, out NtsKeRecord record))
            {
                if (isFinalBlock)
                {
                    long end = offset + scan.Remaining;
                    Throw(
                        NtsKeProtocolError.IncompleteMessage,
                        scan.Remaining == 0 ? offset : end,
                        scan.Remaining == 0
                            ? $"{_what}: the stream ended at offset {offset}, after {_records} records, without End of Message (RFC 8915 §4.1.1)"
                            : $"{_what}: the stream ended at offset {end} inside the record that starts at offset {offset}");
                }

                return false;
            }

            _records++;
            _scanned += record.Length;
            if (Process(record, offset))
            {
                reader.Advance(_scanned);
                return true;
            }
        }
    }

    public NtsKeRequest BuildRequest()
    {
        var request = new NtsKeRequest
        {
            NextProtocols = _nextProtocols!.ToArray(),
            AeadAlgorithms = _aeadAlgorithms?.ToArray() ?? [],
            Server = _server,
            Port = _port,
            CompliantAes128GcmSivExporter = _compliantExporter,
        };
        Reset();
        return request;
    }

    public NtsKeResponse BuildResponse()
    {
        var response = new NtsKeResponse
        {
            NextProtocols = _nextProtocols?.ToArray() ?? [],
            AeadAlgorithm = _aeadAlgorithms is [NtsAeadAlgorithm algorithm] ? algorithm : null,
            Cookies = _cookies?.ToArray() ?? [],
            Server = _server,
            Port = _port,
            ErrorCode = _error,
            WarningCode = _warning,
            CompliantAes128GcmSivExporter = _compliantExporter,
        };
        Reset();
        return response;
    }

    private void Reset()
    {
        _scanned = 0;
        _records = 0;
        _nextProtocols = null;
        _aeadAlgorithms = null;
        _cookies = null;
        _server = null;
        _port = null;
        _error = null;
        _warning = null;
        _compliantExporter = false;
    }

    // Applies one record; true when it was End of Message and the message as a whole is valid.
    private bool Process(in NtsKeRecord record, long offset)
    {
        ReadOnlySequence<byte> body = record.Body;
        int length = record.BodyLength;
        switch (record.Type)
        {
            case NtsKeRecordType.EndOfMessage:
                // RFC 8915 §4.1.1: empty, critical, and last.
                RequireCritical(record, offset, "§4.1.1");
                RequireLength(record, offset, length == 0, "must be empty (RFC 8915 §4.1.1)");
                CheckComplete(offset);
                return true;

            case NtsKeRecordType.NextProtocolNegotiation:
                // RFC 8915 §4.1.2: exactly once, critical, a list of 16-bit ids; a request lists at least one.
                RequireCritical(record, offset, "§4.1.2");
                RequireFirst(record, offset, _nextProtocols is null);
                RequireLength(record, offset, length % 2 == 0, "is a list of 16-bit protocol ids, so its length must be even (RFC 8915 §4.1.2)");
                if (_isRequest && length == 0)
                {
                    Throw(NtsKeProtocolError.InvalidRecordBody, offset, Where(record, offset) + "lists no protocol, but a request must offer at least one (RFC 8915 §4.1.2)");
                }

                _nextProtocols = ReadUInt16List(body, static id => (NtsNextProtocol)id);
                return false;

            case NtsKeRecordType.Error:
            case NtsKeRecordType.Warning:
                // RFC 8915 §4.1.3, §4.1.4: only servers send them; exactly two bytes; critical.
                RequireFromServer(record, offset);
                RequireCritical(record, offset, record.Type == NtsKeRecordType.Error ? "§4.1.3" : "§4.1.4");
                RequireFirst(record, offset, record.Type == NtsKeRecordType.Error ? !_error.HasValue : !_warning.HasValue);
                RequireLength(record, offset, length == 2, "must hold exactly one 16-bit code (RFC 8915 §4.1.3, §4.1.4)");
                ushort code = ReadUInt16(body);
                if (record.Type == NtsKeRecordType.Error)
                {
                    _error = (NtsKeErrorCode)code;
                }
                else
                {
                    _warning = code;
                }

                return false;

            case NtsKeRecordType.AeadAlgorithmNegotiation:
                // RFC 8915 §4.1.5: at most once, a list of 16-bit ids: at least one in a request, at most one in a response.
                RequireFirst(record, offset, _aeadAlgorithms is null);
                RequireLength(record, offset, length % 2 == 0, "is a list of 16-bit algorithm ids, so its length must be even (RFC 8915 §4.1.5)");
                if (_isRequest && length == 0)
                {
                    Throw(NtsKeProtocolError.InvalidRecordBody, offset, Where(record, offset) + "lists no algorithm, but a request must offer at least one (RFC 8915 §4.1.5)");
                }

                if (!_isRequest && length > 2)
                {
                    Throw(NtsKeProtocolError.InvalidRecordBody, offset, Where(record, offset) + string.Create(CultureInfo.InvariantCulture, $"lists {length / 2} algorithms, but a response chooses at most one (RFC 8915 §4.1.5)"));
                }

                _aeadAlgorithms = ReadUInt16List(body, static id => (NtsAeadAlgorithm)id);
                return false;

            case NtsKeRecordType.NewCookieForNtpv4:
                // RFC 8915 §4.1.6: only servers send cookies; their content is opaque. Like chrony, keep the first eight.
                RequireFromServer(record, offset);
                if (length == 0)
                {
                    Throw(NtsKeProtocolError.InvalidBodyLength, offset, Where(record, offset) + "is empty, which no cookie can be");
                }

                _cookies ??= new List<byte[]>(NtsKeLimits.MaxCookies);
                if (_cookies.Count < NtsKeLimits.MaxCookies)
                {
                    _cookies.Add(body.ToArray());
                }

                return false;

            case NtsKeRecordType.NtpServerNegotiation:
                // RFC 8915 §4.1.7: at most one, an ASCII host name or address.
                RequireFirst(record, offset, _server is null);
                RequireLength(record, offset, length is > 0 and <= NtsKeLimits.MaxServerNameLength, string.Create(CultureInfo.InvariantCulture, $"must be a host name or address of 1 to {NtsKeLimits.MaxServerNameLength} characters (RFC 8915 §4.1.7)"));
                _server = ReadServerName(record, offset);
                return false;

            case NtsKeRecordType.NtpPortNegotiation:
                // RFC 8915 §4.1.8: one 16-bit port.
                RequireFirst(record, offset, !_port.HasValue);
                RequireLength(record, offset, length == 2, "must hold exactly one 16-bit port (RFC 8915 §4.1.8)");
                _port = ReadUInt16(body);
                return false;

            case NtsKeRecordType.CompliantAes128GcmSivExporter:
                RequireFirst(record, offset, !_compliantExporter);
                RequireLength(record, offset, length == 0, "must be empty");
                _compliantExporter = true;
                return false;

            default:
                // RFC 8915 §4: an unknown record is an error if critical and ignored otherwise.
                if (record.Critical)
                {
                    Throw(NtsKeProtocolError.UnrecognizedCriticalRecord, offset, Where(record, offset) + "is not a record type this implementation knows, and its critical bit is set (RFC 8915 §4)");
                }

                return false;
        }
    }

    private void CheckComplete(long offset)
    {
        string where = string.Create(CultureInfo.InvariantCulture, $"{_what}: End of Message at offset {offset}: ");
        if (!_isRequest && _error.HasValue)
        {
            // RFC 8915 §4: only a non-error response must carry Next Protocol; the client stops at the error anyway.
            return;
        }

        if (_nextProtocols is null)
        {
            Throw(NtsKeProtocolError.MissingRecord, offset, where + "no Next Protocol Negotiation record came before it, and every request and non-error response has exactly one (RFC 8915 §4)");
        }

        if (_nextProtocols.Contains(NtsNextProtocol.Ntpv4))
        {
            if (_aeadAlgorithms is null)
            {
                Throw(NtsKeProtocolError.MissingRecord, offset, where + "NTPv4 was negotiated without an AEAD Algorithm Negotiation record, which RFC 8915 §4.1.5 requires");
            }

            if (!_isRequest && _aeadAlgorithms.Count == 1 && _cookies is null)
            {
                Throw(NtsKeProtocolError.MissingRecord, offset, where + "the response negotiated NTPv4 and an algorithm but sent no cookie, and RFC 8915 §4.1.6 requires at least one");
            }
        }
    }

    private string ReadServerName(in NtsKeRecord record, long offset)
    {
        Span<byte> bytes = stackalloc byte[NtsKeLimits.MaxServerNameLength];
        bytes = bytes[..record.BodyLength];
        record.Body.CopyTo(bytes);
        Span<char> chars = stackalloc char[NtsKeLimits.MaxServerNameLength];
        chars = chars[..bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            // Bytes above 0x7F map to chars above '~', which the validator reports as non-ASCII.
            chars[i] = (char)bytes[i];
        }

        string? problem = NtsKeServerName.Validate(chars);
        if (problem is not null)
        {
            Throw(NtsKeProtocolError.InvalidRecordBody, offset, Where(record, offset) + problem + " (RFC 8915 §4.1.7)");
        }

        return Encoding.ASCII.GetString(bytes);
    }

    private static List<T> ReadUInt16List<T>(ReadOnlySequence<byte> body, Func<ushort, T> convert)
    {
        var reader = new SequenceReader<byte>(body);
        var list = new List<T>((int)(body.Length / 2));
        while (reader.TryReadBigEndian(out short value))
        {
            list.Add(convert(unchecked((ushort)value)));
        }

        return list;
    }

    private static ushort ReadUInt16(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        reader.TryReadBigEndian(out short value);
        return unchecked((ushort)value);
    }

    private string Where(in NtsKeRecord record, long offset) =>
        string.Create(CultureInfo.InvariantCulture, $"{_what}: {NtsKeRecordReader.Describe(record.Type)} record at offset {offset} ");

    private void RequireCritical(in NtsKeRecord record, long offset, string section)
    {
        if (!record.Critical)
        {
            Throw(NtsKeProtocolError.CriticalBitNotSet, offset, Where(record, offset) + $"does not have its critical bit set, which RFC 8915 {section} requires");
        }
    }

    private void RequireFirst(in NtsKeRecord record, long offset, bool isFirst)
    {
        if (!isFirst)
        {
            Throw(NtsKeProtocolError.DuplicateRecord, offset, Where(record, offset) + "appears a second time, but the message may carry only one (RFC 8915 §4.1)");
        }
    }

    private void RequireLength(in NtsKeRecord record, long offset, bool isValid, string rule)
    {
        if (!isValid)
        {
            Throw(NtsKeProtocolError.InvalidBodyLength, offset, Where(record, offset) + string.Create(CultureInfo.InvariantCulture, $"has a body of {record.BodyLength} bytes, but it {rule}"));
        }
    }

    private void RequireFromServer(in NtsKeRecord record, long offset)
    {
        if (_isRequest)
        {
            Throw(NtsKeProtocolError.RecordNotAllowed, offset, Where(record, offset) + "is only sent by servers, and a client must not include it in a request (RFC 8915 §4.1)");
        }
    }

    [DoesNotReturn]
    private static void Throw(NtsKeProtocolError error, long offset, string message) =>
        ThrowHelper.ThrowNtsKeProtocolException(error, offset, message);
}
