using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>
/// Kiss-o'-death codes: the four ASCII characters a server puts in the reference identifier of a
/// stratum 0 packet (RFC 5905 §7.4, Figure 13; NTSN from RFC 8915 §5.7).
/// </summary>
public static class KissCode
{
    /// <summary>ACST: the association belongs to a unicast server.</summary>
    public const uint Acst = 0x41435354;

    /// <summary>AUTH: server authentication failed.</summary>
    public const uint Auth = 0x41555448;

    /// <summary>AUTO: Autokey sequence failed.</summary>
    public const uint Auto = 0x4155544F;

    /// <summary>BCST: the association belongs to a broadcast server.</summary>
    public const uint Bcst = 0x42435354;

    /// <summary>CRYP: cryptographic authentication or identification failed.</summary>
    public const uint Cryp = 0x43525950;

    /// <summary>DENY: access denied by the remote server; the client must stop sending to it (RFC 5905 §7.4).</summary>
    public const uint Deny = 0x44454E59;

    /// <summary>DROP: lost peer in symmetric mode.</summary>
    public const uint Drop = 0x44524F50;

    /// <summary>RSTR: access denied due to the server's local policy; the client must stop sending to it (RFC 5905 §7.4).</summary>
    public const uint Rstr = 0x52535452;

    /// <summary>INIT: the association has not yet synchronized for the first time.</summary>
    public const uint Init = 0x494E4954;

    /// <summary>MCST: the association belongs to a dynamically discovered server.</summary>
    public const uint Mcst = 0x4D435354;

    /// <summary>NKEY: no key found; the key was never installed or is not trusted.</summary>
    public const uint Nkey = 0x4E4B4559;

    /// <summary>RATE: rate exceeded; the client must reduce its poll interval (RFC 5905 §7.4).</summary>
    public const uint Rate = 0x52415445;

    /// <summary>RMOT: alteration of association from a remote host running ntpdc.</summary>
    public const uint Rmot = 0x524D4F54;

    /// <summary>STEP: a step change in system time has occurred, but the association has not yet resynchronized.</summary>
    public const uint Step = 0x53544550;

    /// <summary>NTSN: NTS negative acknowledgment; the server could not validate the cookie or authenticate the request (RFC 8915 §5.7).</summary>
    public const uint Ntsn = 0x4E54534E;

    /// <summary>Formats a reference identifier as its four ASCII characters, trailing NULs trimmed and other non-printable bytes shown as '?'.</summary>
    /// <param name="refId">The reference identifier as read big-endian from the wire.</param>
    /// <returns>The code, e.g. <c>RATE</c> or <c>GPS</c>.</returns>
    public static string Format(uint refId)
    {
        int length = 4;
        while (length > 0 && (byte)(refId >> (8 * (4 - length))) == 0)
        {
            length--;
        }

        return string.Create(length, refId, static (chars, id) =>
        {
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, id);
            for (int i = 0; i < chars.Length; i++)
            {
                byte b = bytes[i];
                chars[i] = b is >= 0x20 and <= 0x7E ? (char)b : '?';
            }
        });
    }

    /// <summary>Whether the code is one of those registered by RFC 5905 §7.4 or RFC 8915 §5.7.</summary>
    /// <param name="refId">The reference identifier of a kiss-o'-death packet.</param>
    /// <returns><see langword="true"/> for a registered code.</returns>
    public static bool IsKnown(uint refId) => DescribeKnown(refId) is not null;

    /// <summary>A one-line human meaning of the code, for logs and the CLI.</summary>
    /// <param name="refId">The reference identifier of a kiss-o'-death packet.</param>
    /// <returns>The meaning, or a line naming an unknown code.</returns>
    public static string Describe(uint refId) =>
        DescribeKnown(refId) ?? $"unknown kiss code \"{Format(refId)}\"";

    private static string? DescribeKnown(uint refId) => refId switch
    {
        Acst => "the association belongs to a unicast server",
        Auth => "server authentication failed",
        Auto => "Autokey sequence failed",
        Bcst => "the association belongs to a broadcast server",
        Cryp => "cryptographic authentication or identification failed",
        Deny => "access denied: the server refuses this client, which must stop querying it",
        Drop => "lost peer in symmetric mode",
        Rstr => "access restricted: the server's local policy refuses this client, which must stop querying it",
        Init => "the association has not yet synchronized for the first time",
        Mcst => "the association belongs to a dynamically discovered server",
        Nkey => "no key found: the key was never installed or is not trusted",
        Rate => "rate exceeded: the server asks the client to reduce its poll rate",
        Rmot => "alteration of association from a remote host running ntpdc",
        Step => "a step change in system time has occurred, but the association has not yet resynchronized",
        Ntsn => "NTS cookie invalid: run NTS-KE again",
        _ => null,
    };
}
