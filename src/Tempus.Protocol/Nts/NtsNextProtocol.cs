namespace Tempus.Protocol;

/// <summary>Protocol ids negotiated by the NTS Next Protocol Negotiation record (RFC 8915 §4.1.2, §7.7).</summary>
public enum NtsNextProtocol : ushort
{
    /// <summary>Network Time Protocol version 4 (NTPv4), the only protocol RFC 8915 defines.</summary>
    Ntpv4 = 0,
}
