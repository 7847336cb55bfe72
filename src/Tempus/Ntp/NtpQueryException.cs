namespace Tempus.Ntp;

/// <summary>Why a one-shot NTP query failed; each has its own exit code in <c>tempusctl query</c>.</summary>
public enum NtpQueryError
{
    /// <summary>No valid response before the timeout.</summary>
    Timeout,

    /// <summary>The host could not be resolved or reached (ICMP unreachable, connection refused).</summary>
    Unreachable,

    /// <summary>A response arrived but its MAC was missing, used another key or did not verify.</summary>
    AuthenticationFailed,

    /// <summary>The server answered with a crypto-NAK: it does not know or accept our key.</summary>
    CryptoNak,

    /// <summary>The server answered with a kiss-o'-death packet.</summary>
    KissOfDeath,

    /// <summary>The response was not a usable server response (mode, stratum, timestamps, synchronization).</summary>
    InvalidResponse,

    /// <summary>
    /// The server answered an NTS request with an NTS NAK (kiss code NTSN with our Unique Identifier, RFC 8915 §5.7):
    /// it cannot open our cookie, most likely because its keys rotated past it. Run NTS-KE again for new cookies.
    /// </summary>
    NtsNak,

    /// <summary>The NTS session has no unused cookie left (RFC 8915 §5.7): run NTS-KE again.</summary>
    NtsNoCookies,
}

/// <summary>A failed query, with a message that names the server and what to do next.</summary>
public sealed class NtpQueryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NtpQueryException(NtpQueryError error, string message, uint kissCode = 0, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        KissCode = kissCode;
    }

    /// <summary>The kind of failure.</summary>
    public NtpQueryError Error { get; }

    /// <summary>The kiss code for <see cref="NtpQueryError.KissOfDeath"/>, else 0.</summary>
    public uint KissCode { get; }
}
