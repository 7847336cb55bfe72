namespace Tempus.Auth;

/// <summary>MAC algorithms for NTP symmetric-key authentication (RFC 5905 §7.3, RFC 8573).</summary>
public enum MacAlgorithm
{
    /// <summary>MD5(key || message), 16 bytes on the wire. Deprecated by RFC 8573; kept for old peers.</summary>
    Md5,

    /// <summary>SHA-1(key || message), 20 bytes on the wire.</summary>
    Sha1,

    /// <summary>SHA-256(key || message) truncated to 20 bytes on the wire.</summary>
    Sha256,

    /// <summary>SHA-384(key || message) truncated to 20 bytes on the wire.</summary>
    Sha384,

    /// <summary>SHA-512(key || message) truncated to 20 bytes on the wire.</summary>
    Sha512,

    /// <summary>AES-128-CMAC (RFC 8573), 16 bytes on the wire; the recommended algorithm.</summary>
    Aes128Cmac,

    /// <summary>AES-256-CMAC, 16 bytes on the wire (chrony's AES256, NTPsec's AES-256).</summary>
    Aes256Cmac,
}
