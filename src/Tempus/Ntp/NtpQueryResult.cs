using System.Net;
using Tempus.Auth;
using Tempus.Protocol;

namespace Tempus.Ntp;

/// <summary>How a response was authenticated.</summary>
public enum AuthenticationMode
{
    /// <summary>Not authenticated.</summary>
    None,

    /// <summary>A symmetric-key MAC (RFC 5905/8573) verified.</summary>
    SymmetricKey,

    /// <summary>NTS (RFC 8915) verified.</summary>
    Nts,
}

/// <summary>The outcome of one successful client/server exchange, with RFC 5905 §8 offset and delay.</summary>
public sealed record NtpQueryResult
{
    /// <summary>The server's address and port.</summary>
    public required IPEndPoint Server { get; init; }

    /// <summary>Host name as given by the user.</summary>
    public required string Host { get; init; }

    /// <summary>The response header.</summary>
    public required NtpPacketHeader Header { get; init; }

    /// <summary>Local clock offset from the server in seconds (positive: the server is ahead).</summary>
    public required double Offset { get; init; }

    /// <summary>Round-trip delay in seconds.</summary>
    public required double Delay { get; init; }

    /// <summary>T1: when the request left, local clock.</summary>
    public required NtpTimestamp T1 { get; init; }

    /// <summary>T4: when the response arrived, local clock.</summary>
    public required NtpTimestamp T4 { get; init; }

    /// <summary>How the response was authenticated.</summary>
    public required AuthenticationMode Authentication { get; init; }

    /// <summary>The key id when <see cref="Authentication"/> is a symmetric key.</summary>
    public uint? KeyId { get; init; }

    /// <summary>The key's algorithm when <see cref="Authentication"/> is a symmetric key.</summary>
    public MacAlgorithm? KeyAlgorithm { get; init; }

    /// <summary>The server's root distance plus half our delay, RFC 5905 §11.2's measure of the error bound, in seconds.</summary>
    public double RootDistance => (Header.RootDelay.ToSeconds() + Delay) / 2 + Header.RootDispersion.ToSeconds();
}
