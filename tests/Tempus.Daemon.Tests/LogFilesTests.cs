using Tempus.Control;
using Tempus.Protocol;

namespace Tempus.Daemon.Tests;

public sealed class LogFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempusd-logs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly SourceReport s_source = new()
    {
        Name = "ntp.example",
        Address = "192.0.2.1",
        Stratum = 2,
        Poll = 6,
        Leap = LeapIndicator.NoWarning,
        MeasuredOffset = 0.00125,
        PeerDelay = 0.0021,
        NtpTests = "111 111 1111",
        Mode = 4,
        KernelRxTimestamp = true,
        SampleCount = 5,
        Runs = 3,
        StatusReason = "selected: lowest root distance",
    };

    [Fact]
    public void EachKindGoesToItsFileWithChronysBannerAndSigns()
    {
        var errors = new List<string>();
        using (var logs = new LogFiles(_dir, ["measurements", "statistics", "tracking", "selection", "rtc"], errors.Add))
        {
            long now = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;
            logs.Measurement(s_source, now);
            logs.Statistics(s_source, now);
            logs.Tracking(new TrackingReport { ReferenceName = "192.0.2.1", Stratum = 3, LastOffset = 0.00125, FrequencyPpm = -12.5 }, now);
            logs.Selection(s_source, now);
        }

        Assert.Empty(errors);
        Assert.Equal(["measurements.log", "selection.log", "statistics.log", "tracking.log"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
        string[] measurements = File.ReadAllLines(Path.Combine(_dir, "measurements.log"));
        Assert.Contains("IP Address", measurements[1], StringComparison.Ordinal);
        // measurements.log has RFC 5905's theta, reference − local (chrony: "positive indicates that the local clock is
        // slow of the remote source"), so a clock 1.25 ms behind is logged as +1.250e-03; then mode 4, basic (not
        // interleaved), where T1 and T4 came from (D daemon, K kernel), as "4B D K".
        Assert.StartsWith("2026-11-29 12:00:00 192.0.2.1       N  2 111 111 1111", measurements[3], StringComparison.Ordinal);
        Assert.Contains(" 1.250e-03", measurements[3], StringComparison.Ordinal);
        Assert.EndsWith(" 4B D K", measurements[3], StringComparison.Ordinal);
        string tracking = File.ReadAllLines(Path.Combine(_dir, "tracking.log"))[3];
        Assert.Contains("12.500", tracking, StringComparison.Ordinal);
        Assert.Contains("-1.250e-03", tracking, StringComparison.Ordinal);
    }

    [Fact]
    public void TheBannerRepeatsEveryThirtyTwoLines()
    {
        using (var logs = new LogFiles(_dir, ["measurements"], _ => { }))
        {
            for (int i = 0; i < 33; i++)
            {
                logs.Measurement(s_source, 0);
            }
        }

        string[] lines = File.ReadAllLines(Path.Combine(_dir, "measurements.log"));
        Assert.Equal(33 + (2 * 3), lines.Length);
        Assert.Equal(2, lines.Count(l => l.Contains("IP Address", StringComparison.Ordinal)));
    }

    [Fact]
    public void AnUnwritableDirectoryIsReportedOnceAndLoggingStops()
    {
        var errors = new List<string>();
        using var logs = new LogFiles(Path.Combine(_dir, "missing", "dir"), ["tracking"], errors.Add);

        logs.Tracking(new TrackingReport(), 0);
        logs.Tracking(new TrackingReport(), 0);

        string error = Assert.Single(errors);
        Assert.Contains("tracking.log", error, StringComparison.Ordinal);
    }
}
