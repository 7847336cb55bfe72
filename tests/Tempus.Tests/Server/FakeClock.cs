using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Tests.Server;

/// <summary>A clock that says what the test tells it; each reading advances it by <see cref="Step"/>.</summary>
internal sealed class FakeClock : ISystemClock
{
    private long _now;

    public FakeClock(DateTime start)
    {
        _now = (start - DateTime.UnixEpoch).Ticks * 100;
    }

    public long Step { get; set; } = 1_000;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks * 100);

    public long UnixNanoseconds => Interlocked.Add(ref _now, Step) - Step;

    public NtpTimestamp NtpNow => NtpTimestamp.FromUnixTimeNanoseconds(UnixNanoseconds);

    public sbyte Precision => -20;
}
