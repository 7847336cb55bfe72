namespace Tempus.Auth;

/// <summary>Properties and names of <see cref="MacAlgorithm"/> values as chrony and ntpd/NTPsec spell them.</summary>
public static class MacAlgorithms
{
    /// <summary>
    /// The digest length on the wire in an NTPv4 MAC, in bytes (the MAC adds a 4-byte key id):
    /// 16 for MD5 and AES-CMAC, 20 for SHA-1; SHA-256/384/512 are truncated to 20 bytes, as chrony
    /// and NTPsec do, so that the MAC stays within the 24-byte limit RFC 7822 §7.5 sets for a MAC
    /// that is not mistaken for an extension field.
    /// </summary>
    /// <param name="algorithm">The algorithm.</param>
    public static int DigestLength(MacAlgorithm algorithm) => algorithm switch
    {
        MacAlgorithm.Md5 => 16,
        MacAlgorithm.Sha1 or MacAlgorithm.Sha256 or MacAlgorithm.Sha384 or MacAlgorithm.Sha512 => 20,
        MacAlgorithm.Aes128Cmac or MacAlgorithm.Aes256Cmac => 16,
        _ => throw Unknown(algorithm),
    };

    /// <summary>The length of the whole MAC on the wire: 4-byte key id plus <see cref="DigestLength"/>.</summary>
    /// <param name="algorithm">The algorithm.</param>
    public static int MacLength(MacAlgorithm algorithm) => 4 + DigestLength(algorithm);

    /// <summary>The type name in a chrony key file: MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256.</summary>
    /// <param name="algorithm">The algorithm.</param>
    public static string ChronyName(MacAlgorithm algorithm) => algorithm switch
    {
        MacAlgorithm.Md5 => "MD5",
        MacAlgorithm.Sha1 => "SHA1",
        MacAlgorithm.Sha256 => "SHA256",
        MacAlgorithm.Sha384 => "SHA384",
        MacAlgorithm.Sha512 => "SHA512",
        MacAlgorithm.Aes128Cmac => "AES128",
        MacAlgorithm.Aes256Cmac => "AES256",
        _ => throw Unknown(algorithm),
    };

    /// <summary>
    /// The type name in an ntpd/NTPsec ntp.keys file. NTPsec maps AES and AES128CMAC to AES-128-CMAC
    /// and otherwise appends "-CBC" to the name to find the CMAC cipher, so AES-256-CMAC is written
    /// "AES-256" (classic ntpd knows only AES128CMAC).
    /// </summary>
    /// <param name="algorithm">The algorithm.</param>
    public static string NtpKeysName(MacAlgorithm algorithm) => algorithm switch
    {
        MacAlgorithm.Aes128Cmac => "AES128CMAC",
        MacAlgorithm.Aes256Cmac => "AES-256",
        _ => ChronyName(algorithm),
    };

    /// <summary>
    /// Parses a type name as chrony or ntpd/NTPsec write it, case-insensitively: MD5 (and ntpd's
    /// "M"), SHA1, SHA256, SHA384, SHA512, AES128, AES128CMAC, AES, AES-128, AES256, AES256CMAC, AES-256.
    /// Returns <see langword="false"/> for anything else, including ntpd's SHA (SHA-0).
    /// </summary>
    /// <param name="name">The type name.</param>
    /// <param name="algorithm">The algorithm, when the name is known.</param>
    public static bool TryParse(string name, out MacAlgorithm algorithm)
    {
        ArgumentNullException.ThrowIfNull(name);
        switch (name.ToUpperInvariant())
        {
            case "M":
            case "MD5":
                algorithm = MacAlgorithm.Md5;
                return true;
            case "SHA1":
            case "SHA-1":
                algorithm = MacAlgorithm.Sha1;
                return true;
            case "SHA256":
            case "SHA-256":
                algorithm = MacAlgorithm.Sha256;
                return true;
            case "SHA384":
            case "SHA-384":
                algorithm = MacAlgorithm.Sha384;
                return true;
            case "SHA512":
            case "SHA-512":
                algorithm = MacAlgorithm.Sha512;
                return true;
            case "AES":
            case "AES128":
            case "AES-128":
            case "AES128CMAC":
                algorithm = MacAlgorithm.Aes128Cmac;
                return true;
            case "AES256":
            case "AES-256":
            case "AES256CMAC":
                algorithm = MacAlgorithm.Aes256Cmac;
                return true;
            default:
                algorithm = default;
                return false;
        }
    }

    /// <summary>The key length an algorithm requires in bytes: 16 for AES-128, 32 for AES-256, 0 (any) for digests.</summary>
    /// <param name="algorithm">The algorithm.</param>
    public static int RequiredKeyLength(MacAlgorithm algorithm) => algorithm switch
    {
        MacAlgorithm.Aes128Cmac => 16,
        MacAlgorithm.Aes256Cmac => 32,
        MacAlgorithm.Md5 or MacAlgorithm.Sha1 or MacAlgorithm.Sha256 or MacAlgorithm.Sha384 or MacAlgorithm.Sha512 => 0,
        _ => throw Unknown(algorithm),
    };

    /// <summary>True for MD5, which RFC 8573 deprecates for NTP.</summary>
    /// <param name="algorithm">The algorithm.</param>
    public static bool IsWeak(MacAlgorithm algorithm) => algorithm == MacAlgorithm.Md5;

    /// <summary>True for the AES-CMAC algorithms.</summary>
    /// <param name="algorithm">The algorithm.</param>
    public static bool IsCmac(MacAlgorithm algorithm) => algorithm is MacAlgorithm.Aes128Cmac or MacAlgorithm.Aes256Cmac;

    private static ArgumentOutOfRangeException Unknown(MacAlgorithm algorithm) =>
        new(nameof(algorithm), algorithm, "unknown MAC algorithm");
}
