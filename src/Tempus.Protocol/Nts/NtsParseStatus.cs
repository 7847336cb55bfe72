namespace Tempus.Protocol;

/// <summary>The outcome of reading the NTS extension fields of an NTP datagram (RFC 8915 §5); every value but <see cref="Ok"/> means the datagram must be dropped as an NTS packet.</summary>
public enum NtsParseStatus
{
    /// <summary>The NTS fields are well formed.</summary>
    Ok = 0,

    /// <summary>The datagram carries none of the four NTS extension fields: a plain NTP packet.</summary>
    NoNtsFields,

    /// <summary>NTS fields are present but no Unique Identifier precedes the authenticator (RFC 8915 §5.7).</summary>
    MissingUniqueIdentifier,

    /// <summary>More than one authenticated Unique Identifier (RFC 8915 §5.7: exactly one).</summary>
    DuplicateUniqueIdentifier,

    /// <summary>The Unique Identifier body is shorter than 32 bytes (RFC 8915 §5.3).</summary>
    UniqueIdentifierTooShort,

    /// <summary>More than one authenticated NTS Cookie (RFC 8915 §5.7: exactly one in a request).</summary>
    DuplicateCookie,

    /// <summary>A Cookie Placeholder without an NTS Cookie (RFC 8915 §5.5).</summary>
    CookiePlaceholderWithoutCookie,

    /// <summary>A Cookie Placeholder whose body length differs from the cookie's (RFC 8915 §5.5).</summary>
    CookiePlaceholderLengthMismatch,

    /// <summary>The authenticator's nonce or ciphertext length is zero, too short for a tag, or runs past the field (RFC 8915 §5.6).</summary>
    InvalidAuthenticator,

    /// <summary>An NTS Cookie, Cookie Placeholder or authenticator in a packet whose mode is neither client nor server (RFC 8915 §5.4 to §5.6).</summary>
    InvalidMode,

    /// <summary>The extension fields themselves are malformed (never after a successful <see cref="NtpPacketLayout.TryParse(ReadOnlySpan{byte}, out NtpPacketLayout)"/>).</summary>
    MalformedExtensionFields,
}
