namespace Tempus.Protocol;

/// <summary>
/// NTS-KE record types (RFC 8915 §4.1 and the IANA "Network Time Security Key Establishment Record Types"
/// registry, §7.6). The type is a 15-bit number; the high bit of the 16-bit wire field is the critical bit,
/// carried separately in <see cref="NtsKeRecord.Critical"/>.
/// </summary>
public enum NtsKeRecordType : ushort
{
    /// <summary>End of Message (RFC 8915 §4.1.1): empty, critical, exactly once, last.</summary>
    EndOfMessage = 0,

    /// <summary>NTS Next Protocol Negotiation (RFC 8915 §4.1.2): a list of 16-bit protocol ids; critical, exactly once.</summary>
    NextProtocolNegotiation = 1,

    /// <summary>Error (RFC 8915 §4.1.3): a 16-bit <see cref="NtsKeErrorCode"/>; critical; only from servers.</summary>
    Error = 2,

    /// <summary>Warning (RFC 8915 §4.1.4): a 16-bit warning code (none defined); critical; only from servers.</summary>
    Warning = 3,

    /// <summary>AEAD Algorithm Negotiation (RFC 8915 §4.1.5): a list of 16-bit <see cref="NtsAeadAlgorithm"/> ids.</summary>
    AeadAlgorithmNegotiation = 4,

    /// <summary>New Cookie for NTPv4 (RFC 8915 §4.1.6): one opaque cookie; only from servers.</summary>
    NewCookieForNtpv4 = 5,

    /// <summary>NTPv4 Server Negotiation (RFC 8915 §4.1.7): an ASCII host name or IP address literal.</summary>
    NtpServerNegotiation = 6,

    /// <summary>NTPv4 Port Negotiation (RFC 8915 §4.1.8): a 16-bit UDP port.</summary>
    NtpPortNegotiation = 7,

    /// <summary>
    /// Compliant AES-128-GCM-SIV exporter context (IANA record type 1024): non-critical, empty. chrony up to 4.6
    /// derived AEAD 30 keys with AEAD id 15 in the exporter context; a client that sends this record with AEAD 30
    /// asks for the RFC 8915 §5.1 context, and a server that echoes it agrees (chrony 4.7 and later, ntpd-rs).
    /// </summary>
    CompliantAes128GcmSivExporter = 1024,
}
