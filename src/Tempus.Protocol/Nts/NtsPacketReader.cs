using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>
/// Finds the NTS extension fields of an NTPv4 datagram (RFC 8915 §5) and checks their structure, without any
/// cryptography: the caller authenticates <see cref="NtsPacketInfo.AssociatedData"/> and
/// <see cref="NtsPacketInfo.Ciphertext"/> with its AEAD. Allocation-free.
/// </summary>
/// <remarks>
/// What is checked: exactly one Unique Identifier of at least 32 bytes and at most one NTS Cookie before the
/// authenticator, placeholders only with a cookie and of its length, nonce and ciphertext lengths that fit the
/// authenticator field, and NTS cookies and authenticators only in client and server packets. Fields after the
/// authenticator are unauthenticated and ignored (RFC 8915 §5.7). What a request or response must carry beyond
/// that (a cookie and an authenticator in a request, an authenticator in a response unless it is an NTS NAK) is for
/// the caller to require, with <see cref="NtsPacketInfo.HasCookie"/> and <see cref="NtsPacketInfo.HasAuthenticator"/>.
/// </remarks>
public static class NtsPacketReader
{
    /// <summary>The shortest Unique Identifier body (RFC 8915 §5.3).</summary>
    public const int MinUniqueIdentifierLength = 32;

    /// <summary>The shortest ciphertext: the 16-byte tag of every NTS AEAD algorithm (AES-SIV-CMAC and AES-128-GCM-SIV).</summary>
    public const int MinCiphertextLength = 16;

    /// <summary>Reads the NTS fields of a parsed datagram. Never throws.</summary>
    /// <param name="layout">The datagram, parsed by <see cref="NtpPacketLayout.TryParse(ReadOnlySpan{byte}, out NtpPacketLayout)"/>.</param>
    /// <param name="info">The NTS parts; default unless the result is <see cref="NtsParseStatus.Ok"/>.</param>
    /// <returns><see cref="NtsParseStatus.Ok"/>, or why the datagram is not a usable NTS packet.</returns>
    public static NtsParseStatus TryRead(scoped in NtpPacketLayout layout, out NtsPacketInfo info) =>
        TryRead(layout, out info, out _);

    /// <summary>Reads the NTS fields of a parsed datagram, reporting where a failure was found. Never throws.</summary>
    /// <param name="layout">The datagram, parsed by <see cref="NtpPacketLayout.TryParse(ReadOnlySpan{byte}, out NtpPacketLayout)"/>.</param>
    /// <param name="info">The NTS parts; default unless the result is <see cref="NtsParseStatus.Ok"/>.</param>
    /// <param name="errorOffset">The datagram offset of the offending field (of the first field for a missing one); 0 on success.</param>
    /// <returns><see cref="NtsParseStatus.Ok"/>, or why the datagram is not a usable NTS packet.</returns>
    public static NtsParseStatus TryRead(scoped in NtpPacketLayout layout, out NtsPacketInfo info, out int errorOffset)
    {
        info = default;
        errorOffset = 0;
        int uniqueIdOffset = -1;
        int uniqueIdLength = 0;
        int cookieOffset = -1;
        int cookieLength = 0;
        int placeholderCount = 0;
        int placeholderLength = -1;
        int firstPlaceholderOffset = -1;
        int authenticatorOffset = -1;
        int authenticatorLength = 0;
        int nonceLength = 0;
        int ciphertextLength = 0;
        int unauthenticated = 0;
        bool anyNts = false;
        bool clientOrServer = layout.Header.Mode is NtpMode.Client or NtpMode.Server;

        ExtensionFieldReader reader = layout.GetExtensionFields();
        while (reader.TryReadNext(out ExtensionField field, out _))
        {
            if (authenticatorOffset >= 0)
            {
                // RFC 8915 §5.7: fields after the authenticator are unauthenticated; the receiver discards them.
                unauthenticated++;
                continue;
            }

            int valueOffset = field.Offset + ExtensionField.HeaderSize;
            switch (field.Type)
            {
                case ExtensionFieldType.UniqueIdentifier:
                    anyNts = true;
                    if (uniqueIdOffset >= 0)
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.DuplicateUniqueIdentifier;
                    }

                    if (field.Value.Length < MinUniqueIdentifierLength)
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.UniqueIdentifierTooShort;
                    }

                    uniqueIdOffset = valueOffset;
                    uniqueIdLength = field.Value.Length;
                    break;

                case ExtensionFieldType.NtsCookie:
                    anyNts = true;
                    if (!clientOrServer)
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.InvalidMode;
                    }

                    if (cookieOffset >= 0)
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.DuplicateCookie;
                    }

                    cookieOffset = valueOffset;
                    cookieLength = field.Value.Length;
                    break;

                case ExtensionFieldType.NtsCookiePlaceholder:
                    anyNts = true;
                    if (!clientOrServer)
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.InvalidMode;
                    }

                    // The cookie may come after its placeholders, so lengths are compared once all are seen.
                    if (placeholderLength < 0)
                    {
                        placeholderLength = field.Value.Length;
                        firstPlaceholderOffset = field.Offset;
                    }
                    else if (placeholderLength != field.Value.Length)
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.CookiePlaceholderLengthMismatch;
                    }

                    placeholderCount++;
                    break;

                case ExtensionFieldType.NtsAuthenticatorAndEncryptedExtensionFields:
                    anyNts = true;
                    if (!clientOrServer)
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.InvalidMode;
                    }

                    if (!TryReadAuthenticator(field.Value, out nonceLength, out ciphertextLength))
                    {
                        errorOffset = field.Offset;
                        return NtsParseStatus.InvalidAuthenticator;
                    }

                    authenticatorOffset = field.Offset;
                    authenticatorLength = field.Length;
                    break;
            }
        }

        if (!reader.IsAtEnd)
        {
            errorOffset = reader.Offset;
            return NtsParseStatus.MalformedExtensionFields;
        }

        if (!anyNts)
        {
            errorOffset = layout.ExtensionFieldsOffset;
            return NtsParseStatus.NoNtsFields;
        }

        if (uniqueIdOffset < 0)
        {
            errorOffset = layout.ExtensionFieldsOffset;
            return NtsParseStatus.MissingUniqueIdentifier;
        }

        if (placeholderCount > 0)
        {
            if (cookieOffset < 0)
            {
                errorOffset = firstPlaceholderOffset;
                return NtsParseStatus.CookiePlaceholderWithoutCookie;
            }

            // RFC 8915 §5.5: a placeholder's body is as long as the cookie's, so the response is no larger than the request.
            if (placeholderLength != cookieLength)
            {
                errorOffset = firstPlaceholderOffset;
                return NtsParseStatus.CookiePlaceholderLengthMismatch;
            }
        }

        info = new NtsPacketInfo(
            layout.Datagram,
            uniqueIdOffset,
            uniqueIdLength,
            cookieOffset,
            cookieLength,
            placeholderCount,
            authenticatorOffset,
            authenticatorLength,
            nonceLength,
            ciphertextLength,
            unauthenticated);
        return NtsParseStatus.Ok;
    }

    // RFC 8915 §5.6, Figure 4: Nonce Length, Ciphertext Length, then nonce and ciphertext each padded to 4 bytes,
    // then any Additional Padding; every length is checked against the field before it is used.
    private static bool TryReadAuthenticator(ReadOnlySpan<byte> value, out int nonceLength, out int ciphertextLength)
    {
        nonceLength = 0;
        ciphertextLength = 0;
        if (value.Length < 4)
        {
            return false;
        }

        int nonce = BinaryPrimitives.ReadUInt16BigEndian(value);
        int ciphertext = BinaryPrimitives.ReadUInt16BigEndian(value.Slice(2));
        if (nonce == 0 || ciphertext < MinCiphertextLength || 4 + ((nonce + 3) & ~3) + ((ciphertext + 3) & ~3) > value.Length)
        {
            return false;
        }

        nonceLength = nonce;
        ciphertextLength = ciphertext;
        return true;
    }
}
