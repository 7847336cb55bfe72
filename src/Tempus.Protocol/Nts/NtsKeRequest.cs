namespace Tempus.Protocol;

/// <summary>
/// An NTS-KE request (RFC 8915 §4): what a client offers. Produced by <see cref="NtsKeRequestParser"/> on the
/// server and serialized by <see cref="NtsKeMessageWriter.TryWriteRequest"/> on the client.
/// </summary>
public sealed class NtsKeRequest
{
    /// <summary>The protocols the client wants to use, at least one; NTPv4 unless set otherwise.</summary>
    public IReadOnlyList<NtsNextProtocol> NextProtocols { get; init; } = [NtsNextProtocol.Ntpv4];

    /// <summary>The AEAD algorithms the client accepts, most preferred first; required (non-empty) when NTPv4 is offered.</summary>
    public IReadOnlyList<NtsAeadAlgorithm> AeadAlgorithms { get; init; } = [];

    /// <summary>The NTP server the client would like cookies for (RFC 8915 §4.1.7), or <see langword="null"/>.</summary>
    public string? Server { get; init; }

    /// <summary>The NTP port the client would like (RFC 8915 §4.1.8), or <see langword="null"/>.</summary>
    public ushort? Port { get; init; }

    /// <summary>
    /// Whether the request carries the <see cref="NtsKeRecordType.CompliantAes128GcmSivExporter"/> record: send it
    /// whenever <see cref="NtsAeadAlgorithm.Aes128GcmSiv"/> is offered, so that a chrony server derives AEAD 30 keys
    /// with the RFC 8915 §5.1 context.
    /// </summary>
    public bool CompliantAes128GcmSivExporter { get; init; }
}
