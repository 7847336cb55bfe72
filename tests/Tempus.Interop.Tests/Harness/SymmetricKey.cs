using System.Security.Cryptography;

namespace Tempus.Interop.Tests.Harness;

// One symmetric NTP key (RFC 5905 MAC, RFC 8573 AES-CMAC) and its lines in chrony's and NTPsec's key files.
// The value is always written in hex: chrony needs the HEX: prefix, NTPsec reads any key longer than 20
// characters as hex, and every key here is 16 or 20 bytes (32 or 40 hex digits).
public sealed record SymmetricKey(int Id, string Type, byte[] Value)
{
    // Type is chrony's name: MD5, SHA1 or AES128.
    public static SymmetricKey Random(int id, string type)
    {
        int length = type switch
        {
            "AES128" => 16,
            "MD5" or "SHA1" => 20,
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "expected MD5, SHA1 or AES128"),
        };
        return new SymmetricKey(id, type, RandomNumberGenerator.GetBytes(length));
    }

    public string Hex => Convert.ToHexStringLower(Value);

    // NTPsec's name for AES-128-CMAC is "AES" (ntpkeygen writes it; ntpdig maps AES and AES128CMAC).
    public string NtpType => Type == "AES128" ? "AES" : Type;

    public string ChronyLine => $"{Id} {Type} HEX:{Hex}";

    public string NtpLine => $"{Id} {NtpType} {Hex}";

    public SymmetricKey WithRandomValue() => this with { Value = RandomNumberGenerator.GetBytes(Value.Length) };

    public static string ChronyFile(IEnumerable<SymmetricKey> keys) =>
        string.Concat(keys.Select(key => key.ChronyLine + "\n"));

    public static string NtpFile(IEnumerable<SymmetricKey> keys) =>
        string.Concat(keys.Select(key => key.NtpLine + "\n"));
}
