using Tempus.Protocol;

namespace Tempus.Sources;

/// <summary>
/// One measurement of a source: when it was taken on our clock, what it said about our offset, and how
/// much to trust it. Immutable; the clock filter and the source statistics consume these.
/// </summary>
/// <remarks>
/// <see cref="LocalTimeNs"/> is nanoseconds on the local clock's timescale (CLOCK_REALTIME as Unix ns, or a
/// simulated clock's). Only differences between samples are used, and they are formed in 64-bit integers
/// before conversion to <see cref="double"/>, so the absolute value never costs precision.
/// </remarks>
/// <param name="LocalTimeNs">When the response arrived (T4), in nanoseconds on the local clock's timescale.</param>
/// <param name="Offset">The local clock's offset from the source in seconds, reference − local (positive: the source is ahead).</param>
/// <param name="Delay">The round-trip delay in seconds (RFC 5905 §8 δ).</param>
/// <param name="Dispersion">The measurement's dispersion in seconds (RFC 5905 §8 ε) at <paramref name="LocalTimeNs"/>.</param>
/// <param name="RootDelay">The source's root delay in seconds, from its header.</param>
/// <param name="RootDispersion">The source's root dispersion in seconds, from its header.</param>
/// <param name="Stratum">The source's stratum.</param>
/// <param name="Leap">The source's leap indicator.</param>
public readonly record struct NtpSample(
    long LocalTimeNs,
    double Offset,
    double Delay,
    double Dispersion,
    double RootDelay,
    double RootDispersion,
    byte Stratum,
    LeapIndicator Leap)
{
    /// <summary>
    /// The peer synchronization distance λ = δ/2 + ε of RFC 5905 §10, in seconds: how far the true offset
    /// can be from <see cref="Offset"/> on account of this measurement alone.
    /// </summary>
    public double Distance => Delay / 2 + Dispersion;
}
