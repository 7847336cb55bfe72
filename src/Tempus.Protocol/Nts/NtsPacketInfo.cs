namespace Tempus.Protocol;

/// <summary>
/// The NTS parts of an NTP datagram (RFC 8915 §5), as views into the datagram; produced by
/// <see cref="NtsPacketReader.TryRead(in NtpPacketLayout, out NtsPacketInfo)"/> without allocating.
/// </summary>
/// <remarks>
/// Only the fields before the authenticator are read: fields after it are neither authenticated nor encrypted,
/// and RFC 8915 §5.7 has the receiver discard them, so they are only counted in <see cref="UnauthenticatedFieldCount"/>.
/// Placeholders may also sit inside the ciphertext (RFC 8915 §5.7); a server counts those after decrypting, with
/// <see cref="NtsPlaintextReader"/>.
/// </remarks>
public readonly ref struct NtsPacketInfo
{
    private readonly ReadOnlySpan<byte> _datagram;
    private readonly int _uniqueIdentifierOffset;
    private readonly int _uniqueIdentifierLength;
    private readonly int _cookieOffset;
    private readonly int _authenticatorOffset;
    private readonly bool _hasCookie;
    private readonly bool _hasAuthenticator;
    private readonly int _nonceLength;
    private readonly int _ciphertextLength;

    internal NtsPacketInfo(
        ReadOnlySpan<byte> datagram,
        int uniqueIdentifierOffset,
        int uniqueIdentifierLength,
        int cookieOffset,
        int cookieLength,
        int placeholderCount,
        int authenticatorOffset,
        int authenticatorLength,
        int nonceLength,
        int ciphertextLength,
        int unauthenticatedFieldCount)
    {
        _datagram = datagram;
        _uniqueIdentifierOffset = uniqueIdentifierOffset;
        _uniqueIdentifierLength = uniqueIdentifierLength;
        _cookieOffset = cookieOffset;
        _hasCookie = cookieOffset >= 0;
        CookieLength = cookieLength;
        CookiePlaceholderCount = placeholderCount;
        _authenticatorOffset = authenticatorOffset;
        _hasAuthenticator = authenticatorOffset >= 0;
        AuthenticatorLength = authenticatorLength;
        _nonceLength = nonceLength;
        _ciphertextLength = ciphertextLength;
        UnauthenticatedFieldCount = unauthenticatedFieldCount;
    }

    /// <summary>The Unique Identifier's body (RFC 8915 §5.3), padding included: a response must echo exactly these bytes.</summary>
    public ReadOnlySpan<byte> UniqueIdentifier => _datagram.Slice(_uniqueIdentifierOffset, _uniqueIdentifierLength);

    /// <summary>Whether an authenticated NTS Cookie is present, as in every request (RFC 8915 §5.7).</summary>
    public bool HasCookie => _hasCookie;

    /// <summary>The NTS Cookie's body (RFC 8915 §5.4), padding included, or empty.</summary>
    public ReadOnlySpan<byte> Cookie => HasCookie ? _datagram.Slice(_cookieOffset, CookieLength) : default;

    /// <summary>The NTS Cookie's body length, 0 if there is none.</summary>
    public int CookieLength { get; }

    /// <summary>How many Cookie Placeholders precede the authenticator; each has a body as long as the cookie (RFC 8915 §5.5).</summary>
    public int CookiePlaceholderCount { get; }

    /// <summary>Whether the packet has an NTS Authenticator and Encrypted Extension Fields field. An NTS NAK (kiss code NTSN) has none.</summary>
    public bool HasAuthenticator => _hasAuthenticator;

    /// <summary>Where the authenticator field starts in the datagram, or -1.</summary>
    public int AuthenticatorOffset => _hasAuthenticator ? _authenticatorOffset : -1;

    /// <summary>The authenticator field's length, header and padding included, or 0.</summary>
    public int AuthenticatorLength { get; }

    /// <summary>The AEAD nonce, without padding.</summary>
    public ReadOnlySpan<byte> Nonce => HasAuthenticator ? _datagram.Slice(AuthenticatorOffset + 8, _nonceLength) : default;

    /// <summary>The AEAD output (tag and encrypted fields), without padding.</summary>
    public ReadOnlySpan<byte> Ciphertext => HasAuthenticator ? _datagram.Slice(AuthenticatorOffset + 8 + PadTo4(_nonceLength), _ciphertextLength) : default;

    /// <summary>The AEAD associated data (RFC 8915 §5.6): the datagram from the NTP header up to the authenticator.</summary>
    public ReadOnlySpan<byte> AssociatedData => HasAuthenticator ? _datagram.Slice(0, AuthenticatorOffset) : default;

    /// <summary>The Additional Padding after the ciphertext (RFC 8915 §5.6).</summary>
    public int AdditionalPaddingLength => HasAuthenticator ? AuthenticatorLength - 8 - PadTo4(_nonceLength) - PadTo4(_ciphertextLength) : 0;

    /// <summary>How many extension fields follow the authenticator; they are unauthenticated and ignored (RFC 8915 §5.7).</summary>
    public int UnauthenticatedFieldCount { get; }

    /// <summary>
    /// Whether a client request leaves room for a server nonce of adequate length (RFC 8915 §5.6): the padded nonce
    /// plus the Additional Padding must reach N_REQ, the lesser of 16 and the AEAD's maximum nonce length, rounded up
    /// to a multiple of 4. Servers discard requests that fail this.
    /// </summary>
    /// <param name="maxNonceLength">N_MAX, the negotiated AEAD's maximum nonce length (RFC 5116); 12 for AES-128-GCM-SIV, unbounded (<see cref="int.MaxValue"/>) for AES-SIV-CMAC.</param>
    /// <returns>Whether the requirement is met; <see langword="false"/> if there is no authenticator.</returns>
    public bool HasRequiredNoncePadding(int maxNonceLength) =>
        HasAuthenticator && PadTo4(_nonceLength) + AdditionalPaddingLength >= NtsPacketWriter.GetRequiredNonceFieldLength(maxNonceLength);

    private static int PadTo4(int length) => (length + 3) & ~3;
}
