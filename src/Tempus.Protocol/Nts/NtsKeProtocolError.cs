namespace Tempus.Protocol;

/// <summary>Why an NTS-KE message was rejected (see <see cref="NtsKeProtocolException.Error"/>).</summary>
public enum NtsKeProtocolError
{
    /// <summary>A record body is longer than <see cref="NtsKeLimits.MaxRecordBodyLength"/>.</summary>
    RecordBodyTooLong = 1,

    /// <summary>The message is longer than the parser's limit (<see cref="NtsKeLimits.MaxRequestLength"/> or <see cref="NtsKeLimits.MaxResponseLength"/>).</summary>
    MessageTooLong,

    /// <summary>The message has more than <see cref="NtsKeLimits.MaxRecords"/> records.</summary>
    TooManyRecords,

    /// <summary>The stream ended before the End of Message record (RFC 8915 §4.1.1).</summary>
    IncompleteMessage,

    /// <summary>A record whose critical bit RFC 8915 §4.1 requires (End of Message, Next Protocol, Error, Warning) has it clear.</summary>
    CriticalBitNotSet,

    /// <summary>A record with an unknown type has its critical bit set (RFC 8915 §4); a server answers with <see cref="NtsKeErrorCode.UnrecognizedCriticalRecord"/>.</summary>
    UnrecognizedCriticalRecord,

    /// <summary>A record's body length is wrong for its type (e.g. an odd-length id list, a port that is not 2 bytes, a non-empty End of Message).</summary>
    InvalidBodyLength,

    /// <summary>A record's body is the right length but its content is invalid (e.g. an empty protocol list in a request, a server name that is not an ASCII host name or IP address).</summary>
    InvalidRecordBody,

    /// <summary>A record appears that this side must not send (Error, Warning or New Cookie in a request, RFC 8915 §4.1.3, §4.1.4, §4.1.6).</summary>
    RecordNotAllowed,

    /// <summary>A record appears more often than RFC 8915 §4.1 allows.</summary>
    DuplicateRecord,

    /// <summary>A required record is missing: Next Protocol, AEAD Algorithm when NTPv4 is negotiated, or a cookie in a successful response.</summary>
    MissingRecord,
}
