namespace Tempus.Protocol;

/// <summary>The hard limits the NTS-KE parsers enforce, so that a peer cannot make them buffer or allocate without bound.</summary>
public static class NtsKeLimits
{
    /// <summary>
    /// The longest record body accepted, cookies included. RFC 8915 caps no body; cookies in the RFC 8915 §6 format
    /// are about 100 bytes and chrony refuses cookies over 256 bytes, while every other record is a handful of
    /// 16-bit ids or a host name of at most 255 characters. 1024 leaves room for larger cookies, and a cookie
    /// must in any case fit into an NTP datagram along with its placeholders.
    /// </summary>
    public const int MaxRecordBodyLength = 1024;

    /// <summary>
    /// The longest request a server accepts: RFC 8915 §4 requires at least 1024 bytes; a real request
    /// (next protocol, AEAD list, server and port) is under 300.
    /// </summary>
    public const int MaxRequestLength = 16384;

    /// <summary>The longest response a client accepts: RFC 8915 §4 says clients SHOULD accept at least 65536 bytes.</summary>
    public const int MaxResponseLength = 65536;

    /// <summary>The most records accepted in one message, End of Message included; eight cookies and every defined record need 16.</summary>
    public const int MaxRecords = 128;

    /// <summary>
    /// The most cookies kept from one response. RFC 8915 §4.1.6 has servers send eight; like chrony, a client keeps
    /// the first eight and ignores any more (they are still checked and counted against <see cref="MaxRecords"/>).
    /// </summary>
    public const int MaxCookies = 8;

    /// <summary>The longest NTPv4 Server Negotiation body: a DNS name is at most 253 characters, 254 with its final dot.</summary>
    public const int MaxServerNameLength = 255;
}
