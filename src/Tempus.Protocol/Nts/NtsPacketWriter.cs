using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>
/// Lays out the NTS extension fields of an NTPv4 packet (RFC 8915 §5) without any cryptography: the caller writes the
/// 48-byte header, these fields after it, then the authenticator header, and seals its AEAD output in place into the
/// nonce and ciphertext slots. Allocation-free.
/// </summary>
/// <remarks>
/// A request (RFC 8915 §5.7): <see cref="TryWriteRequestFields"/> at offset 48, then
/// <see cref="TryWriteAuthenticatorHeader(Span{byte}, int, int, int, out int, out int, out int)"/> right after it;
/// the associated data is the datagram up to the authenticator. A response: the echoed
/// <see cref="TryWriteUniqueIdentifier"/>, then the authenticator, whose plaintext is <see cref="TryWriteCookie"/>
/// fields.
/// </remarks>
public static class NtsPacketWriter
{
    /// <summary>
    /// N_REQ (RFC 8915 §5.6): how long the padded nonce plus Additional Padding of a client request must be, so that the
    /// server can reply with a nonce of adequate length: the lesser of 16 and the AEAD's maximum nonce length, rounded
    /// up to a multiple of 4.
    /// </summary>
    /// <param name="maxNonceLength">N_MAX of the negotiated AEAD (RFC 5116): 12 for AES-128-GCM-SIV, <see cref="int.MaxValue"/> for AES-SIV-CMAC.</param>
    /// <returns>N_REQ in bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNonceLength"/> is below 1.</exception>
    public static int GetRequiredNonceFieldLength(int maxNonceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNonceLength, 1);
        return (Math.Min(16, maxNonceLength) + 3) & ~3;
    }

    /// <summary>Writes a Unique Identifier field (RFC 8915 §5.3): the client's random bytes, or in a response the request's, echoed.</summary>
    /// <param name="destination">Where to write the field.</param>
    /// <param name="uniqueIdentifier">At least 32 bytes from a cryptographically secure generator, or the request's <see cref="NtsPacketInfo.UniqueIdentifier"/>.</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentException"><paramref name="uniqueIdentifier"/> is shorter than 32 bytes or too long for a field.</exception>
    public static bool TryWriteUniqueIdentifier(Span<byte> destination, ReadOnlySpan<byte> uniqueIdentifier, out int written)
    {
        if (uniqueIdentifier.Length < NtsPacketReader.MinUniqueIdentifierLength)
        {
            ThrowHelper.ThrowArgument(nameof(uniqueIdentifier), $"an NTS Unique Identifier is at least {NtsPacketReader.MinUniqueIdentifierLength} bytes (RFC 8915 §5.3)");
        }

        return ExtensionFieldWriter.TryWrite(destination, ExtensionFieldType.UniqueIdentifier, uniqueIdentifier, out written);
    }

    /// <summary>
    /// Writes an NTS Cookie field (RFC 8915 §5.4): in the clear in a request, inside the plaintext of a response.
    /// A cookie whose length is not a multiple of 4 is zero-padded, and the server sees the padded body.
    /// </summary>
    /// <param name="destination">Where to write the field.</param>
    /// <param name="cookie">The opaque cookie.</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentException"><paramref name="cookie"/> is empty or too long for a field.</exception>
    public static bool TryWriteCookie(Span<byte> destination, ReadOnlySpan<byte> cookie, out int written)
    {
        if (cookie.IsEmpty)
        {
            ThrowHelper.ThrowArgument(nameof(cookie), "an NTS cookie cannot be empty");
        }

        return ExtensionFieldWriter.TryWrite(destination, ExtensionFieldType.NtsCookie, cookie, out written);
    }

    /// <summary>Writes an NTS Cookie Placeholder (RFC 8915 §5.5): a zero body as long as the cookie's, asking for one more cookie.</summary>
    /// <param name="destination">Where to write the field.</param>
    /// <param name="cookieLength">The length of the cookie sent in the same request.</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="cookieLength"/> is below 1 or too long for a field.</exception>
    public static bool TryWriteCookiePlaceholder(Span<byte> destination, int cookieLength, out int written)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cookieLength, 1);

        // TryWriteHeader zeroes everything after the value, and the value here is empty.
        return ExtensionFieldWriter.TryWriteHeader(destination, ExtensionFieldType.NtsCookiePlaceholder, 0, ExtensionFieldWriter.GetPaddedLength(cookieLength), out written);
    }

    /// <summary>The length of the fields <see cref="TryWriteRequestFields"/> writes.</summary>
    /// <param name="uniqueIdentifierLength">The Unique Identifier length, at least 32.</param>
    /// <param name="cookieLength">The cookie length, at least 1.</param>
    /// <param name="placeholderCount">How many placeholders, 0 or more.</param>
    /// <returns>The total length in bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public static int GetRequestFieldsLength(int uniqueIdentifierLength, int cookieLength, int placeholderCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(uniqueIdentifierLength, NtsPacketReader.MinUniqueIdentifierLength);
        ArgumentOutOfRangeException.ThrowIfLessThan(cookieLength, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(placeholderCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(placeholderCount, ExtensionFieldReader.MaxFields);
        int cookieField = ExtensionFieldWriter.GetPaddedLength(cookieLength);
        return ExtensionFieldWriter.GetPaddedLength(uniqueIdentifierLength) + (cookieField * (1 + placeholderCount));
    }

    /// <summary>
    /// Writes the NTS fields of a request before its authenticator (RFC 8915 §5.7): Unique Identifier, NTS Cookie, and
    /// <paramref name="placeholderCount"/> Cookie Placeholders. Write them at offset 48, after the header; the
    /// authenticator goes at <c>48 + written</c>.
    /// </summary>
    /// <param name="destination">Where to write the fields.</param>
    /// <param name="uniqueIdentifier">At least 32 random bytes, kept to match the response.</param>
    /// <param name="cookie">A cookie not sent before, if the client has one (RFC 8915 §5.7).</param>
    /// <param name="placeholderCount">How many more cookies to ask for: RFC 8915 §5.7 has the client keep eight and send at most seven placeholders.</param>
    /// <param name="written">The length of the fields on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small; nothing is written then.</returns>
    /// <exception cref="ArgumentException">The unique identifier is shorter than 32 bytes, the cookie is empty, or <paramref name="placeholderCount"/> is negative.</exception>
    public static bool TryWriteRequestFields(Span<byte> destination, ReadOnlySpan<byte> uniqueIdentifier, ReadOnlySpan<byte> cookie, int placeholderCount, out int written)
    {
        written = 0;
        if (uniqueIdentifier.Length < NtsPacketReader.MinUniqueIdentifierLength)
        {
            ThrowHelper.ThrowArgument(nameof(uniqueIdentifier), $"an NTS Unique Identifier is at least {NtsPacketReader.MinUniqueIdentifierLength} bytes (RFC 8915 §5.3)");
        }

        if (cookie.IsEmpty)
        {
            ThrowHelper.ThrowArgument(nameof(cookie), "an NTS cookie cannot be empty");
        }

        if (destination.Length < GetRequestFieldsLength(uniqueIdentifier.Length, cookie.Length, placeholderCount))
        {
            return false;
        }

        TryWriteUniqueIdentifier(destination, uniqueIdentifier, out int position);
        TryWriteCookie(destination.Slice(position), cookie, out int n);
        position += n;
        for (int i = 0; i < placeholderCount; i++)
        {
            TryWriteCookiePlaceholder(destination.Slice(position), cookie.Length, out n);
            position += n;
        }

        written = position;
        return true;
    }

    /// <summary>The length of an authenticator field without Additional Padding, as a server's response uses (RFC 8915 §5.6).</summary>
    /// <param name="nonceLength">The nonce length, at least 1.</param>
    /// <param name="ciphertextLength">The AEAD output length (plaintext plus tag), at least 16.</param>
    /// <returns>The field length in bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A length is out of range or the field would be too long.</exception>
    public static int GetAuthenticatorLength(int nonceLength, int ciphertextLength) =>
        GetAuthenticatorLength(nonceLength, ciphertextLength, maxNonceLength: 1);

    /// <summary>The length of an authenticator field in a client request, with the Additional Padding RFC 8915 §5.6 requires.</summary>
    /// <param name="nonceLength">The nonce length, at least 1.</param>
    /// <param name="ciphertextLength">The AEAD output length (plaintext plus tag), at least 16.</param>
    /// <param name="maxNonceLength">N_MAX of the negotiated AEAD (see <see cref="GetRequiredNonceFieldLength"/>).</param>
    /// <returns>The field length in bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A length is out of range or the field would be too long.</exception>
    public static int GetAuthenticatorLength(int nonceLength, int ciphertextLength, int maxNonceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nonceLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nonceLength, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(ciphertextLength, NtsPacketReader.MinCiphertextLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ciphertextLength, ushort.MaxValue);
        int nonceField = Math.Max(PadTo4(nonceLength), GetRequiredNonceFieldLength(maxNonceLength));
        int value = 4 + nonceField + PadTo4(ciphertextLength);

        // The authenticator is normally the last field of a packet without a MAC (RFC 7822 §7.5.1.4; RFC 8915 §5.6
        // asks implementers to handle this even though a nonce and a tag already exceed it).
        return ExtensionFieldWriter.GetPaddedLength(value, ExtensionFieldWriter.MinLastFieldLengthWithoutMac);
    }

    /// <summary>Writes an authenticator field without Additional Padding, as in a server's response, leaving the nonce and ciphertext to the caller.</summary>
    /// <param name="destination">Where the field goes: right after the last authenticated field. Everything before it in the datagram is the associated data.</param>
    /// <param name="nonceLength">The nonce length, at least 1.</param>
    /// <param name="ciphertextLength">The AEAD output length (plaintext plus tag), at least 16.</param>
    /// <param name="nonceOffset">Where to write the nonce, from the start of <paramref name="destination"/>.</param>
    /// <param name="ciphertextOffset">Where to write the AEAD output, from the start of <paramref name="destination"/>.</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A length is out of range.</exception>
    public static bool TryWriteAuthenticatorHeader(Span<byte> destination, int nonceLength, int ciphertextLength, out int nonceOffset, out int ciphertextOffset, out int written) =>
        TryWriteAuthenticatorHeader(destination, nonceLength, ciphertextLength, maxNonceLength: 1, out nonceOffset, out ciphertextOffset, out written);

    /// <summary>
    /// Writes an authenticator field (RFC 8915 §5.6, Figure 4): type, length, Nonce Length, Ciphertext Length, and zeroes
    /// for the nonce, ciphertext and all padding, which the caller then fills in place: the nonce at
    /// <paramref name="nonceOffset"/>, then the AEAD output of the associated data (the datagram up to this field) at
    /// <paramref name="ciphertextOffset"/>.
    /// </summary>
    /// <param name="destination">Where the field goes: right after the last authenticated field.</param>
    /// <param name="nonceLength">The nonce length, at least 1.</param>
    /// <param name="ciphertextLength">The AEAD output length (plaintext plus tag), at least 16.</param>
    /// <param name="maxNonceLength">N_MAX of the negotiated AEAD, for the Additional Padding of a client request (see <see cref="GetRequiredNonceFieldLength"/>); 1 for none.</param>
    /// <param name="nonceOffset">Where to write the nonce, from the start of <paramref name="destination"/>.</param>
    /// <param name="ciphertextOffset">Where to write the AEAD output, from the start of <paramref name="destination"/>.</param>
    /// <param name="written">The field length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A length is out of range.</exception>
    public static bool TryWriteAuthenticatorHeader(Span<byte> destination, int nonceLength, int ciphertextLength, int maxNonceLength, out int nonceOffset, out int ciphertextOffset, out int written)
    {
        int length = GetAuthenticatorLength(nonceLength, ciphertextLength, maxNonceLength);
        nonceOffset = 0;
        ciphertextOffset = 0;
        if (!ExtensionFieldWriter.TryWriteHeader(destination, ExtensionFieldType.NtsAuthenticatorAndEncryptedExtensionFields, 0, length, out written))
        {
            return false;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(4), (ushort)nonceLength);
        BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(6), (ushort)ciphertextLength);
        nonceOffset = 8;
        ciphertextOffset = 8 + PadTo4(nonceLength);
        return true;
    }

    private static int PadTo4(int length) => (length + 3) & ~3;
}
