using System.Net;
using System.Net.Sockets;

namespace Tempus.Protocol;

// RFC 8915 §4.1.7: the NTPv4 Server Negotiation body is ASCII: an IPv4 address in dotted decimal, an IPv6 address
// in RFC 4291 text form without a zone identifier, or a fully qualified domain name whose internationalized labels
// are A-labels (RFC 5890 §2.3.2.1), which are plain letters, digits and hyphens.
internal static class NtsKeServerName
{
    // Returns null when valid, otherwise why not (used in both parse errors and argument exceptions).
    public static string? Validate(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty)
        {
            return "the server name is empty";
        }

        if (name.Length > NtsKeLimits.MaxServerNameLength)
        {
            return $"the server name is {name.Length} characters long, more than the {NtsKeLimits.MaxServerNameLength} a host name can have";
        }

        foreach (char c in name)
        {
            if (c is < '!' or > '~')
            {
                return c > '~'
                    ? "the server name has a non-ASCII character; internationalized names must be sent as A-labels (xn--...)"
                    : "the server name has a space or control character";
            }
        }

        if (name.Contains(':'))
        {
            if (name.Contains('%'))
            {
                return "the IPv6 address has a zone identifier, which RFC 8915 §4.1.7 forbids";
            }

            return IPAddress.TryParse(name, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetworkV6 && !name.Contains('[')
                ? null
                : "the server name contains ':' but is not an IPv6 address in RFC 4291 text form";
        }

        ReadOnlySpan<char> host = name[^1] == '.' ? name[..^1] : name;
        if (host.IsEmpty)
        {
            return "the server name is only a dot";
        }

        int lastDot = host.LastIndexOf('.');
        ReadOnlySpan<char> lastLabel = host[(lastDot + 1)..];
        if (IsAllDigits(lastLabel))
        {
            // A top-level domain is never all digits, so this must be an IPv4 address.
            return IsDottedDecimal(name) ? null : "the server name looks like an IPv4 address but is not four dotted decimal numbers from 0 to 255";
        }

        if (host.Length > 253)
        {
            return "the server name is longer than the 253 characters of a DNS name";
        }

        foreach (Range range in host.Split('.'))
        {
            ReadOnlySpan<char> label = host[range];
            if (label.IsEmpty || label.Length > 63)
            {
                return "the server name has an empty label or one longer than 63 characters";
            }

            if (label[0] == '-' || label[^1] == '-')
            {
                return "a label of the server name starts or ends with a hyphen";
            }

            foreach (char c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
                {
                    return $"the server name has the character '{c}', which a host name cannot have";
                }
            }
        }

        return null;
    }

    private static bool IsAllDigits(ReadOnlySpan<char> s) => !s.IsEmpty && !s.ContainsAnyExceptInRange('0', '9');

    private static bool IsDottedDecimal(ReadOnlySpan<char> s)
    {
        int parts = 0;
        foreach (Range range in s.Split('.'))
        {
            ReadOnlySpan<char> part = s[range];
            parts++;

            // Leading zeros are refused as inet_pton does: "010" would be octal to some parsers.
            if (parts > 4 || !IsAllDigits(part) || part.Length > 3 || (part.Length > 1 && part[0] == '0') || int.Parse(part, provider: System.Globalization.CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return parts == 4;
    }
}
