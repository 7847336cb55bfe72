using Tempus.Protocol;

namespace Tempus.Nts;

/// <summary>
/// What an NTS-KE exchange leaves a client with (RFC 8915 §4-§5): the negotiated AEAD, the two keys exported
/// from the TLS session, the cookies, and where to send NTP. The NTS NTP client consumes and refills it; it is
/// also what is saved per server under <c>ntsdumpdir</c> so a restart needs no new key exchange.
/// </summary>
public sealed class NtsSession
{
    /// <summary>The NTS-KE server this session came from (host name as configured).</summary>
    public required string KeServer { get; init; }

    /// <summary>The NTS-KE port.</summary>
    public required int KePort { get; init; }

    /// <summary>The NTP server to query: the NTS-KE server's Server record, or the NTS-KE host.</summary>
    public required string NtpServer { get; init; }

    /// <summary>The NTP port: the Port record, or 123.</summary>
    public required int NtpPort { get; init; }

    /// <summary>The negotiated AEAD algorithm.</summary>
    public required NtsAeadAlgorithm Algorithm { get; init; }

    /// <summary>Client-to-server key (RFC 8915 §5.1).</summary>
    public required byte[] C2SKey { get; init; }

    /// <summary>Server-to-client key.</summary>
    public required byte[] S2CKey { get; init; }

    /// <summary>Cookies not yet used, oldest first; each is sent once (RFC 8915 §5.7 unlinkability).</summary>
    public Queue<byte[]> Cookies { get; } = new();

    /// <summary>When the key exchange happened, Unix nanoseconds (for <c>ntsrefresh</c> and <c>authdata</c>).</summary>
    public required long EstablishedUnixNanoseconds { get; init; }

    /// <summary>Adds <paramref name="cookies"/> to this session's queue, in order; returns the session.</summary>
    public NtsSession WithCookies(IEnumerable<byte[]> cookies)
    {
        foreach (byte[] cookie in cookies)
        {
            Cookies.Enqueue(cookie);
        }

        return this;
    }
}
