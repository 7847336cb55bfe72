using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.AotBench;

/// <summary>
/// A clock that always reads the same instant: the engine's transmit timestamps and the NTS key ring read it, so the
/// benchmark never reads the system clock for the protocol and its cookies never expire or rotate mid-run.
/// </summary>
internal sealed class FixedClock : ISystemClock
{
    public FixedClock(DateTime utc)
    {
        UnixNanoseconds = (utc - DateTime.UnixEpoch).Ticks * 100;
        NtpNow = NtpTimestamp.FromUnixTimeNanoseconds(UnixNanoseconds);
    }

    public long UnixNanoseconds { get; }

    public sbyte Precision => -20;

    public NtpTimestamp NtpNow { get; }
}
