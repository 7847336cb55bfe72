using System.Globalization;

namespace Tempus.Protocol;

/// <summary>Human-readable descriptions of <see cref="NtsParseStatus"/>, naming where in the datagram and why.</summary>
public static class NtsParseStatusExtensions
{
    /// <summary>Describes a failure by place and cause, e.g. "NTS authenticator at offset 152: the nonce and ciphertext lengths run past the field (RFC 8915 §5.6)".</summary>
    /// <param name="s">The status.</param>
    /// <param name="offset">The offset in the datagram where the problem was found.</param>
    /// <returns>A one-line description.</returns>
    public static string Describe(this NtsParseStatus s, int offset)
    {
        var inv = CultureInfo.InvariantCulture;
        return s switch
        {
            NtsParseStatus.Ok => "no error",
            NtsParseStatus.NoNtsFields => string.Create(inv, $"extension fields at offset {offset}: the packet carries no NTS extension field"),
            NtsParseStatus.MissingUniqueIdentifier => string.Create(inv, $"extension fields at offset {offset}: NTS fields without an authenticated Unique Identifier (RFC 8915 §5.7)"),
            NtsParseStatus.DuplicateUniqueIdentifier => string.Create(inv, $"Unique Identifier at offset {offset}: a second one, but a packet carries exactly one (RFC 8915 §5.7)"),
            NtsParseStatus.UniqueIdentifierTooShort => string.Create(inv, $"Unique Identifier at offset {offset}: shorter than the {NtsPacketReader.MinUniqueIdentifierLength} bytes RFC 8915 §5.3 requires"),
            NtsParseStatus.DuplicateCookie => string.Create(inv, $"NTS Cookie at offset {offset}: a second one, but a request carries exactly one (RFC 8915 §5.7)"),
            NtsParseStatus.CookiePlaceholderWithoutCookie => string.Create(inv, $"NTS Cookie Placeholder at offset {offset}: there is no NTS Cookie for it to accompany (RFC 8915 §5.5)"),
            NtsParseStatus.CookiePlaceholderLengthMismatch => string.Create(inv, $"NTS Cookie Placeholder at offset {offset}: its body length differs from the cookie's (RFC 8915 §5.5)"),
            NtsParseStatus.InvalidAuthenticator => string.Create(inv, $"NTS authenticator at offset {offset}: the nonce is empty, the ciphertext is shorter than a {NtsPacketReader.MinCiphertextLength}-byte tag, or they run past the field (RFC 8915 §5.6)"),
            NtsParseStatus.InvalidMode => string.Create(inv, $"NTS field at offset {offset}: NTS cookies and authenticators are only valid in client and server packets (RFC 8915 §5.4, §5.6)"),
            NtsParseStatus.MalformedExtensionFields => string.Create(inv, $"extension field at offset {offset}: malformed (RFC 7822 §3)"),
            _ => string.Create(inv, $"offset {offset}: unknown NTS parse status {(int)s}"),
        };
    }
}
