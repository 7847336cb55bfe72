namespace Tempus.Sources;

/// <summary>What <see cref="NtpSource.ProcessResponse"/> made of a datagram.</summary>
public enum SourceResponseOutcome
{
    /// <summary>A valid, authentic response: a new sample went into the source's statistics.</summary>
    Accepted,

    /// <summary>
    /// Not an answer to the outstanding request: no request is outstanding (a late or duplicated response), the mode is
    /// not server, or the origin timestamp is not our transmit timestamp (RFC 5905 §8). The request stays outstanding.
    /// </summary>
    Ignored,

    /// <summary>
    /// A malformed datagram (the request stays outstanding), or an authentic answer whose content is unusable: the server
    /// is unsynchronized (leap 3 or stratum 16+), its root delay or dispersion is 16 s or more, the version is not our
    /// request's, or its receive and transmit timestamps are zero or out of order (the poll is then complete).
    /// </summary>
    Invalid,

    /// <summary>
    /// An authentic, synchronized answer whose sample was not used: the round-trip delay exceeds <c>maxdelay</c>, or the
    /// clock filter judged it a popcorn spike (RFC 5905 A.5.2). It counts as reachable.
    /// </summary>
    Filtered,

    /// <summary>The response matches the request but its MAC or NTS authenticator does not verify; the request stays outstanding.</summary>
    AuthenticationFailed,

    /// <summary>Kiss-o'-death RATE: the poll interval was increased (RFC 5905 §7.4).</summary>
    KissRate,

    /// <summary>Kiss-o'-death DENY: the source is stopped (RFC 5905 §7.4).</summary>
    KissDeny,

    /// <summary>Kiss-o'-death RSTR: the source is stopped (RFC 5905 §7.4).</summary>
    KissRstr,

    /// <summary>Another kiss-o'-death code: no sample, nothing else changes.</summary>
    KissOther,

    /// <summary>An NTS NAK (RFC 8915 §5.7): the NTS session was dropped and a new NTS-KE is needed.</summary>
    NtsNak,
}
