namespace Tempus.Protocol;

/// <summary>The outcome of parsing an NTP datagram; every value but <see cref="Ok"/> means the datagram must be dropped.</summary>
public enum NtpParseStatus
{
    /// <summary>The datagram is well formed.</summary>
    Ok = 0,

    /// <summary>The datagram is shorter than the 48-byte header (RFC 5905 §7.3).</summary>
    TooShort,

    /// <summary>The version number is 0 or 5 to 7; versions 1 to 4 are accepted.</summary>
    UnsupportedVersion,

    /// <summary>Mode 0 (reserved) in a packet of version 2 or later; only NTPv1, which had no mode field, carries zero there.</summary>
    InvalidMode,

    /// <summary>Mode 6 (control) or 7 (private): messages for ntpq and ntpdc, which do not use the NTP time packet format.</summary>
    UnsupportedMode,

    /// <summary>An extension field's length is below the RFC 7822 §3 minimum of 16 bytes (zero included).</summary>
    InvalidExtensionFieldLength,

    /// <summary>An extension field's length is not a multiple of 4 (RFC 7822 §3: fields are padded to a word boundary).</summary>
    MisalignedExtensionFieldLength,

    /// <summary>An extension field's length, or its 4-byte type and length header, runs past the end of the datagram.</summary>
    ExtensionFieldTruncated,

    /// <summary>The datagram carries more extension fields than the reader's limit.</summary>
    TooManyExtensionFields,

    /// <summary>The bytes after the header and extension fields are neither absent nor a MAC of 4, 20 or 24 bytes.</summary>
    InvalidMacLength,
}
