using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tempus.Config;

/// <summary>
/// The <c>allow</c>/<c>deny</c> table with chrony's semantics: the most specific matching subnet decides,
/// a later directive for the same subnet replaces an earlier one, <c>allow all</c>/<c>deny all</c> also
/// overrides every more specific rule given before it, and an address no rule matches is denied.
/// IPv4 addresses live in the IPv4-mapped part of the IPv6 space so one 128-bit table serves both.
/// </summary>
public sealed class AccessRules
{
    private readonly List<Rule> _rules = new();
    private Rule[] _sorted = Array.Empty<Rule>();

    /// <summary>True when at least one <c>allow</c> rule exists (chrony opens the NTP port only then).</summary>
    public bool HasAllowRules { get; private set; }

    /// <summary>Adds a rule; <paramref name="network"/> null means every address (IPv4 and IPv6).</summary>
    public void Add(bool allow, bool all, IPNetwork? network)
    {
        UInt128 prefix = 0;
        int length = 0;
        if (network is { } n)
        {
            (prefix, length) = ToMapped(n);
        }

        if (all)
        {
            _rules.RemoveAll(r => r.Length >= length && Matches(r.Prefix, prefix, length));
        }
        else
        {
            _rules.RemoveAll(r => r.Length == length && r.Prefix == prefix);
        }

        _rules.Add(new Rule(prefix, length, allow));
        HasAllowRules |= allow;
        _sorted = _rules.OrderByDescending(r => r.Length).ToArray();
    }

    /// <summary>Decides whether a client address may be served.</summary>
    public bool IsAllowed(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            bytes[10] = 0xff;
            bytes[11] = 0xff;
        }
        else if (address.IsIPv4MappedToIPv6 || address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            address.TryWriteBytes(bytes, out _);
        }
        else
        {
            return false;
        }

        return IsAllowed(BinaryPrimitives.ReadUInt128BigEndian(bytes));
    }

    /// <summary>Allocation-free check for an IPv4 address given in host order.</summary>
    public bool IsAllowedIPv4(uint address) => IsAllowed(((UInt128)0xffff << 32) | address);

    /// <summary>Allocation-free check for an address in the 128-bit (IPv4-mapped for IPv4) form.</summary>
    public bool IsAllowed(UInt128 address)
    {
        foreach (Rule rule in _sorted)
        {
            if (Matches(rule.Prefix, address, rule.Length))
            {
                return rule.Allow;
            }
        }

        return false;
    }

    /// <summary>
    /// Parses a chrony subnet specification: an address, <c>address/length</c>, or a shortened IPv4 network
    /// such as <c>192.168</c> (= 192.168.0.0/16). Returns null and an error message when invalid.
    /// </summary>
    public static IPNetwork? TryParseSubnet(string text, out string? error)
    {
        error = null;
        string addressPart = text;
        int? prefixLength = null;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            addressPart = text[..slash];
            if (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int p))
            {
                error = $"bad prefix length '{text[(slash + 1)..]}' in subnet '{text}'";
                return null;
            }

            prefixLength = p;
        }

        if (!addressPart.Contains(':', StringComparison.Ordinal))
        {
            // chrony accepts 1, 2 or 3 dotted components and fills the rest with zeros.
            string[] parts = addressPart.Split('.');
            if (parts.Length is < 1 or > 4 || parts.Any(p => !byte.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                error = $"'{text}' is not an IPv4 or IPv6 address or subnet";
                return null;
            }

            prefixLength ??= parts.Length * 8;
            addressPart = string.Join('.', parts.Concat(Enumerable.Repeat("0", 4 - parts.Length)));
        }

        if (!IPAddress.TryParse(addressPart, out IPAddress? address))
        {
            error = $"'{text}' is not an IPv4 or IPv6 address or subnet";
            return null;
        }

        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int length = prefixLength ?? max;
        if (length < 0 || length > max)
        {
            error = $"prefix length {length} out of range 0-{max} in subnet '{text}'";
            return null;
        }

        // Clear host bits so 10.1.2.3/8 means 10.0.0.0/8, as chrony does.
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        for (int bit = length; bit < written * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPNetwork(new IPAddress(bytes[..written]), length);
    }

    private static (UInt128 Prefix, int Length) ToMapped(IPNetwork network)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        if (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
        {
            network.BaseAddress.TryWriteBytes(bytes[12..], out _);
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            return (BinaryPrimitives.ReadUInt128BigEndian(bytes), 96 + network.PrefixLength);
        }

        network.BaseAddress.TryWriteBytes(bytes, out _);
        return (BinaryPrimitives.ReadUInt128BigEndian(bytes), network.PrefixLength);
    }

    private static bool Matches(UInt128 prefix, UInt128 address, int length)
    {
        if (length == 0)
        {
            return true;
        }

        UInt128 mask = UInt128.MaxValue << (128 - length);
        return (address & mask) == (prefix & mask);
    }

    private readonly record struct Rule(UInt128 Prefix, int Length, bool Allow);
}
