using Tempus.Protocol;

namespace Tempus.Server;

/// <summary>
/// What the server tells its clients about its own synchronization (RFC 5905 §7.3 system variables):
/// leap, stratum, reference id and time, root delay and dispersion.
/// </summary>
public readonly record struct ReferenceState(
    LeapIndicator Leap,
    byte Stratum,
    uint ReferenceId,
    NtpTimestamp ReferenceTime,
    NtpShortFormat RootDelay,
    NtpShortFormat RootDispersion)
{
    /// <summary>RFC 5905 §7.3: stratum 16 with leap 3 says "not synchronized; do not use".</summary>
    public static ReferenceState Unsynchronized { get; } =
        new(LeapIndicator.Unsynchronized, 16, 0, NtpTimestamp.Zero, default, default);

    /// <summary>
    /// The state served under <c>local stratum N</c>: the local clock is the reference. chrony uses the
    /// reference id 127.127.1.1 (0x7F7F0101) for it, which clients display as the address; at stratum 1 an
    /// ASCII code is expected, so "LOCL" is used there.
    /// </summary>
    public static ReferenceState Local(int stratum, NtpTimestamp now) =>
        new(LeapIndicator.NoWarning, (byte)stratum, stratum == 1 ? Tempus.Protocol.ReferenceId.FromAscii("LOCL") : 0x7F7F0101u, now, default, default);
}
