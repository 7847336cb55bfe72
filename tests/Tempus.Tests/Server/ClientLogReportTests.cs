using System.Net;
using Tempus.Config;
using Tempus.Control;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Tests.Server;

/// <summary><c>clients -p N</c> and <c>clients -r</c> on the client table, as chronyc's options behave.</summary>
public sealed class ClientLogReportTests
{
    private static readonly DateTime s_start = new(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);
    private static readonly UInt128 s_busy = ClientLog.ToMapped(IPAddress.Parse("192.0.2.1"));
    private static readonly UInt128 s_quiet = ClientLog.ToMapped(IPAddress.Parse("192.0.2.2"));
    private readonly NtpTimestamp _now = NtpTimestamp.FromDateTime(s_start);
    // One bucket of records, so one stripe, whose leak draws then come from the fixed seed alone. With the default
    // table the stripe is picked by a per-process keyed hash and each over-limit request is answered anyway with
    // probability 1/2 (leak is at least 1, as chrony's): one run in 256 answered all eight and dropped none.
    private readonly ClientLog _log = new(16 * ClientLog.RecordSize, new RateLimitOptions(IntervalLog2: 3, Burst: 2, Leak: 0), null, new FakeClock(s_start), 12345);

    public ClientLogReportTests()
    {
        // The busy client sends 10 requests at once, more than its burst: some are dropped. The quiet one sends 2.
        for (int i = 0; i < 10; i++)
        {
            _log.LogNtpAccess(s_busy, _now);
        }

        _log.LogNtpAccess(s_quiet, _now);
        _log.LogNtpAccess(s_quiet, _now);
        Assert.True(_log.NtpDrops > 0, "the busy client went over its burst");
    }

    [Fact]
    public void MinusPListsOnlyClientsWithAtLeastThatManyRequests()
    {
        Assert.Equal(2, _log.Snapshot(ntsKe: false, 100, minHits: 1, reset: false).Count);
        Assert.Equal(2, _log.Snapshot(ntsKe: false, 100, minHits: 2, reset: false).Count);
        ClientReport busy = Assert.Single(_log.Snapshot(ntsKe: false, 100, minHits: 3, reset: false));
        Assert.Equal("192.0.2.1", busy.Address);
        Assert.Equal(10u, busy.NtpRequests);
        Assert.Equal(_log.NtpDrops, busy.NtpDropped);
        Assert.Empty(_log.Snapshot(ntsKe: false, 100, minHits: 11, reset: false));

        // With -k the count is NTS-KE connections: none here.
        Assert.Empty(_log.Snapshot(ntsKe: true, 100, minHits: 1, reset: false));
    }

    [Fact]
    public void MinusRReportsTheCountsThenZeroesThemAndCountingGoesOn()
    {
        IReadOnlyList<ClientReport> reported = _log.Snapshot(ntsKe: false, 100, minHits: 3, reset: true);
        Assert.Equal(10u, Assert.Single(reported).NtpRequests);

        // Only the listed client was reset; the quiet one keeps its 2. The server's totals are not client counters.
        IReadOnlyList<ClientReport> after = _log.Snapshot(ntsKe: false, 100, minHits: 1, reset: false);
        ClientReport quiet = Assert.Single(after);
        Assert.Equal("192.0.2.2", quiet.Address);
        Assert.Equal(2u, quiet.NtpRequests);
        long drops = _log.NtpDrops;
        Assert.Equal(12, _log.NtpHits);
        Assert.Equal(0u, quiet.NtpDropped);

        // The busy client's next request counts from 0.
        uint dropped = _log.LogNtpAccess(s_busy, _now) == RateLimitDecision.Pass ? 0u : 1u;
        ClientReport busy = Assert.Single(_log.Snapshot(ntsKe: false, 100, minHits: 1, reset: false), c => c.Address == "192.0.2.1");
        Assert.Equal(1u, busy.NtpRequests);
        Assert.Equal(dropped, busy.NtpDropped);
        Assert.Equal(drops + dropped, _log.NtpDrops);
        Assert.True(busy.NtpLastAgo >= 0, "the last-seen time survives the reset");
    }

    [Fact]
    public void APacketCountBelowOneIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _log.Snapshot(ntsKe: false, 100, minHits: 0, reset: false));
    }
}
