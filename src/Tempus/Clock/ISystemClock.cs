using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// The one place Tempus reads the time from (STYLE rule 26): the real clock in production, a simulated one
/// in tests. Readings are nanoseconds since the Unix epoch so no conversion happens on the hot path.
/// </summary>
public interface ISystemClock
{
    /// <summary>Current time, nanoseconds since 1970-01-01T00:00:00Z.</summary>
    long UnixNanoseconds { get; }

    /// <summary>The clock's precision as a signed log2 of seconds, as carried in the NTP header.</summary>
    sbyte Precision { get; }

    /// <summary>Current time as an NTP timestamp.</summary>
    NtpTimestamp NtpNow { get; }
}
