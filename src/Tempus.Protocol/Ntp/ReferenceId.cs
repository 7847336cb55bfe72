using System.Buffers.Binary;
using System.Globalization;

namespace Tempus.Protocol;

/// <summary>Helpers for the 32-bit reference identifier of the NTP header (RFC 5905 §7.3).</summary>
public static class ReferenceId
{
    /// <summary>
    /// Formats a reference identifier the way chrony and ntpq show it: for stratum 0 (kiss code) and 1 (reference
    /// clock, e.g. <c>GPS</c>, <c>PPS</c>) as ASCII; for stratum 2 and above as a dotted IPv4 address (for an IPv6
    /// upstream the value is the first four bytes of an MD5 hash of its address, still shown dotted).
    /// </summary>
    /// <param name="refId">The reference identifier as read big-endian from the wire.</param>
    /// <param name="stratum">The stratum of the packet that carried it.</param>
    /// <returns>The formatted identifier.</returns>
    public static string Format(uint refId, byte stratum)
    {
        if (stratum <= 1)
        {
            return KissCode.Format(refId);
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"{(byte)(refId >> 24)}.{(byte)(refId >> 16)}.{(byte)(refId >> 8)}.{(byte)refId}");
    }

    /// <summary>Encodes up to four printable ASCII characters, padded with NULs, e.g. <c>LOCL</c> or a kiss code.</summary>
    /// <param name="code">Zero to four printable ASCII characters.</param>
    /// <returns>The reference identifier.</returns>
    /// <exception cref="ArgumentException"><paramref name="code"/> is longer than four characters or not printable ASCII.</exception>
    public static uint FromAscii(ReadOnlySpan<char> code)
    {
        if (code.Length > 4)
        {
            ThrowHelper.ThrowArgument(nameof(code), "a reference identifier holds at most four ASCII characters");
        }

        uint value = 0;
        for (int i = 0; i < 4; i++)
        {
            uint c = 0;
            if (i < code.Length)
            {
                c = code[i];
                if (c is < 0x20 or > 0x7E)
                {
                    ThrowHelper.ThrowArgument(nameof(code), "a reference identifier holds only printable ASCII characters");
                }
            }

            value = (value << 8) | c;
        }

        return value;
    }

    /// <summary>Encodes an IPv4 address in network byte order, as a stratum 2+ server names its upstream.</summary>
    /// <param name="address">The four address bytes in network order.</param>
    /// <returns>The reference identifier.</returns>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not four bytes long.</exception>
    public static uint FromIPv4(ReadOnlySpan<byte> address)
    {
        if (address.Length != 4)
        {
            ThrowHelper.ThrowArgument(nameof(address), "an IPv4 address is four bytes long");
        }

        return BinaryPrimitives.ReadUInt32BigEndian(address);
    }
}
