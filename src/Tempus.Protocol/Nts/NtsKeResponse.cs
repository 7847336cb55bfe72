namespace Tempus.Protocol;

/// <summary>
/// An NTS-KE response (RFC 8915 §4): what a server granted, or an error. Produced by
/// <see cref="NtsKeResponseParser"/> on the client and serialized by <see cref="NtsKeMessageWriter.TryWriteResponse"/>.
/// </summary>
/// <remarks>
/// The parser checks the response's shape, not that it answers the request (RFC 8915 §4.1.2, §4.1.5: the protocol
/// and algorithm must be among those offered): the client does that with its own request at hand.
/// </remarks>
public sealed class NtsKeResponse
{
    /// <summary>The NTP port to use when the server sends none (RFC 8915 §4.1.8).</summary>
    public const ushort DefaultNtpPort = 123;

    /// <summary>The protocols the server agreed to, possibly none; NTPv4 unless set otherwise. Not written in an error response.</summary>
    public IReadOnlyList<NtsNextProtocol> NextProtocols { get; init; } = [NtsNextProtocol.Ntpv4];

    /// <summary>The algorithm the server chose, or <see langword="null"/> if it supports none of those offered (an empty AEAD record).</summary>
    public NtsAeadAlgorithm? AeadAlgorithm { get; init; }

    /// <summary>The cookies for NTPv4 (RFC 8915 §4.1.6), in the order received, at most <see cref="NtsKeLimits.MaxCookies"/>.</summary>
    public IReadOnlyList<byte[]> Cookies { get; init; } = [];

    /// <summary>The NTP server to use (RFC 8915 §4.1.7), or <see langword="null"/> for the NTS-KE server's own address. A domain name is fully qualified whether or not it ends with a dot.</summary>
    public string? Server { get; init; }

    /// <summary>The NTP port to use (RFC 8915 §4.1.8), or <see langword="null"/> for <see cref="DefaultNtpPort"/>.</summary>
    public ushort? Port { get; init; }

    /// <summary>The error the server reported (RFC 8915 §4.1.3), or <see langword="null"/>. With an error, the client must discard the keys and not proceed.</summary>
    public NtsKeErrorCode? ErrorCode { get; init; }

    /// <summary>The warning the server reported (RFC 8915 §4.1.4), or <see langword="null"/>. No warning codes are defined, so a client treats any as an error.</summary>
    public ushort? WarningCode { get; init; }

    /// <summary>Whether the response carries the <see cref="NtsKeRecordType.CompliantAes128GcmSivExporter"/> record: the server derives AEAD 30 keys with the RFC 8915 §5.1 context.</summary>
    public bool CompliantAes128GcmSivExporter { get; init; }

    /// <summary>Whether the server reported an error.</summary>
    public bool IsError => ErrorCode.HasValue;

    /// <summary>An error response: just the Error record and End of Message, as a server sends when it rejects a request.</summary>
    /// <param name="errorCode">The error code.</param>
    /// <returns>The response.</returns>
    public static NtsKeResponse CreateError(NtsKeErrorCode errorCode) => new() { ErrorCode = errorCode, NextProtocols = [] };
}
