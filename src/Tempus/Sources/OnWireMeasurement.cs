using Tempus.Protocol;

namespace Tempus.Sources;

/// <summary>The offset, delay and dispersion of one client/server exchange (RFC 5905 §8).</summary>
/// <param name="Offset">θ in seconds, reference − local (positive: the server is ahead).</param>
/// <param name="Delay">δ in seconds, never less than the local precision.</param>
/// <param name="Dispersion">ε in seconds: both precisions plus the frequency tolerance over the round trip.</param>
public readonly record struct OnWireMeasurement(double Offset, double Delay, double Dispersion)
{
    /// <summary>PHI, the frequency tolerance assumed for any clock (RFC 5905 §7.2): 15 ppm, in s/s.</summary>
    public const double Phi = 15e-6;

    /// <summary>
    /// Computes θ, δ and ε from the four timestamps of an exchange: T1 request sent and T4 response received
    /// on our clock, T2 request received and T3 response sent on the server's.
    /// </summary>
    /// <param name="t1">Origin timestamp: when the request left, local clock.</param>
    /// <param name="t2">Receive timestamp: when the server received the request.</param>
    /// <param name="t3">Transmit timestamp: when the server sent the response.</param>
    /// <param name="t4">Destination timestamp: when the response arrived, local clock.</param>
    /// <param name="peerPrecision">The server's precision in seconds (2^precision from its header).</param>
    /// <param name="localPrecision">Our clock's precision in seconds.</param>
    /// <returns>The measurement.</returns>
    public static OnWireMeasurement FromTimestamps(
        NtpTimestamp t1, NtpTimestamp t2, NtpTimestamp t3, NtpTimestamp t4, double peerPrecision, double localPrecision)
    {
        // RFC 5905 A.5.1.1: the first-order differences are taken in 64-bit fixed point (which also makes the
        // result era-independent), and only then converted to floating point.
        return FromDifferences(
            NtpTimestamp.FixedToSeconds(t2 - t1),
            NtpTimestamp.FixedToSeconds(t3 - t4),
            NtpTimestamp.FixedToSeconds(t4 - t1),
            peerPrecision,
            localPrecision);
    }

    /// <summary>Computes θ, δ and ε from the timestamp differences of an exchange, already in seconds.</summary>
    /// <param name="receiveMinusOrigin">T2 − T1 in seconds.</param>
    /// <param name="transmitMinusDestination">T3 − T4 in seconds.</param>
    /// <param name="destinationMinusOrigin">T4 − T1 in seconds: the round trip on our clock.</param>
    /// <param name="peerPrecision">The server's precision in seconds.</param>
    /// <param name="localPrecision">Our clock's precision in seconds.</param>
    /// <returns>The measurement.</returns>
    public static OnWireMeasurement FromDifferences(
        double receiveMinusOrigin, double transmitMinusDestination, double destinationMinusOrigin, double peerPrecision, double localPrecision)
    {
        // RFC 5905 §8: θ = ((T2 − T1) + (T3 − T4)) / 2 and δ = (T4 − T1) − (T3 − T2) = (T2 − T1) − (T3 − T4).
        double offset = (receiveMinusOrigin + transmitMinusDestination) / 2;

        // RFC 5905 A.5.1.1: with fast networks and clocks running at different rates δ can come out negative;
        // it is clamped to the system precision.
        double delay = Math.Max(receiveMinusOrigin - transmitMinusDestination, localPrecision);

        // RFC 5905 §8: ε = ρ_peer + ρ_local + PHI·(T4 − T1).
        double dispersion = peerPrecision + localPrecision + Phi * Math.Abs(destinationMinusOrigin);
        return new OnWireMeasurement(offset, delay, dispersion);
    }

    /// <summary>Converts a precision as carried in the NTP header (log2 seconds) to seconds.</summary>
    /// <param name="log2Seconds">The signed exponent, e.g. −20 for about a microsecond.</param>
    /// <returns>2^<paramref name="log2Seconds"/>.</returns>
    public static double PrecisionToSeconds(sbyte log2Seconds) => Math.ScaleB(1.0, log2Seconds);
}
