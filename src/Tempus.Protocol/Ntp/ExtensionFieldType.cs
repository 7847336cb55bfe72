namespace Tempus.Protocol;

/// <summary>Extension field types used by Tempus (IANA "NTP Extension Field Types" registry).</summary>
public static class ExtensionFieldType
{
    /// <summary>Unique Identifier (RFC 8915 §5.3): at least 32 random bytes the server echoes back.</summary>
    public const ushort UniqueIdentifier = 0x0104;

    /// <summary>NTS Cookie (RFC 8915 §5.4): an opaque cookie from NTS-KE.</summary>
    public const ushort NtsCookie = 0x0204;

    /// <summary>NTS Cookie Placeholder (RFC 8915 §5.5): asks for one more cookie; its body is as long as a cookie.</summary>
    public const ushort NtsCookiePlaceholder = 0x0304;

    /// <summary>NTS Authenticator and Encrypted Extension Fields (RFC 8915 §5.6): nonce and AEAD ciphertext over everything before it.</summary>
    public const ushort NtsAuthenticatorAndEncryptedExtensionFields = 0x0404;
}
