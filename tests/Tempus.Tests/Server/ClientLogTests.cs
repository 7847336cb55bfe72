using System.Net;
using Tempus.Config;
using Tempus.Control;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Tests.Server;

/// <summary>chrony's ratelimit/ntsratelimit/clientloglimit semantics on simulated time.</summary>
public sealed class ClientLogTests
{
    private static readonly DateTime s_start = new(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc);
    private static readonly UInt128 s_client = ClientLog.ToMapped(IPAddress.Parse("192.0.2.1"));
    private readonly FakeClock _clock = new(s_start);
    private NtpTimestamp _now = NtpTimestamp.FromDateTime(s_start);

    private ClientLog Create(RateLimitOptions? ntp, RateLimitOptions? ntsKe = null, long memory = 524288, ulong seed = 12345) =>
        new(memory, ntp, ntsKe, _clock, seed);

    private void Advance(double seconds) => _now = _now.Add(NtpTimestamp.SecondsToFixed(seconds));

    [Fact]
    public void ABurstIsAnsweredThenTheClientIsLimitedUntilTheBucketRefills()
    {
        ClientLog log = Create(new RateLimitOptions(IntervalLog2: 3, Burst: 8, Leak: 4));
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(RateLimitDecision.Pass, log.LogNtpAccess(s_client, _now));
        }

        int passed = 0;
        for (int i = 0; i < 1600; i++)
        {
            if (log.LogNtpAccess(s_client, _now) == RateLimitDecision.Pass)
            {
                passed++;
            }
        }

        // leak 4: one in 16 of the limited requests is answered anyway (100 expected of 1600).
        Assert.InRange(passed, 60, 140);
        Assert.Equal(1600 - passed, log.NtpDrops);

        // 2^3 s later one token's worth is back, whatever the leak did to the bucket.
        Advance(8);
        Assert.Equal(RateLimitDecision.Pass, log.LogNtpAccess(s_client, _now));
    }

    [Fact]
    public void AClientPollingAtTheIntervalIsNeverLimited()
    {
        ClientLog log = Create(new RateLimitOptions(IntervalLog2: 4, Burst: 1, Leak: 4));
        for (int i = 0; i < 500; i++)
        {
            Assert.Equal(RateLimitDecision.Pass, log.LogNtpAccess(s_client, _now));
            Advance(16);
        }

        Assert.Equal(0, log.NtpDrops);
        Assert.Equal(500, log.NtpHits);
    }

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(2, 0.25)]
    [InlineData(3, 0.125)]
    public void TheLeakAnswersOneInTwoToTheLeakOfTheLimitedRequests(int leak, double expected)
    {
        ClientLog log = Create(new RateLimitOptions(IntervalLog2: 6, Burst: 1, Leak: leak));
        log.LogNtpAccess(s_client, _now);
        int passed = 0;
        const int count = 8000;
        for (int i = 0; i < count; i++)
        {
            Advance(0.001);
            if (log.LogNtpAccess(s_client, _now) == RateLimitDecision.Pass)
            {
                passed++;
            }
        }

        Assert.InRange(passed / (double)count, expected * 0.85, expected * 1.15);
    }

    [Fact]
    public void KodAnswersAShareOfTheLimitedRequestsWithRateAndTheyAreNotDrops()
    {
        ClientLog log = Create(new RateLimitOptions(IntervalLog2: 6, Burst: 1, Leak: 4, Kod: 1));
        log.LogNtpAccess(s_client, _now);
        int kods = 0, drops = 0, passes = 0;
        for (int i = 0; i < 8000; i++)
        {
            Advance(0.001);
            switch (log.LogNtpAccess(s_client, _now))
            {
                case RateLimitDecision.Kod: kods++; break;
                case RateLimitDecision.Drop: drops++; break;
                default: passes++; break;
            }
        }

        // 15/16 are not leaked; kod 1 answers half of those with RATE.
        Assert.InRange(kods, 3300, 4200);
        Assert.InRange(drops, 3300, 4200);
        Assert.Equal(drops, log.NtpDrops);
        Assert.Equal(kods, log.NtpKods);
        Assert.Equal(8001, kods + drops + passes + 1);
    }

    [Fact]
    public void WithoutRatelimitClientsAreCountedButNeverLimited()
    {
        ClientLog log = Create(ntp: null);
        Assert.False(log.LimitsNtp);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(RateLimitDecision.Pass, log.LogNtpAccess(s_client, _now));
        }

        Assert.Equal(100, log.NtpHits);
        Assert.Equal(100, Assert.Single(log.Snapshot(ntsKe: false, 10)).NtpRequests);
    }

    [Fact]
    public void AClientThatPollsFasterWhenUnansweredIsAnsweredMostly()
    {
        // Answered: it waits 64 s; unanswered: it retries after 1 s. chrony stops limiting such a client, because
        // dropping its requests only multiplies them.
        ClientLog log = Create(new RateLimitOptions(IntervalLog2: 8, Burst: 1, Leak: 2));
        int passed = 0;
        const int count = 4000;
        for (int i = 0; i < count; i++)
        {
            bool answered = log.LogNtpAccess(s_client, _now) == RateLimitDecision.Pass;
            passed += answered ? 1 : 0;
            Advance(answered ? 64 : 1);
        }

        // Limited normally, leak 2 would answer about a quarter of the limited requests; inverted, three quarters.
        Assert.True(passed > count / 2, $"{passed} of {count} answered");
    }

    [Fact]
    public void NtsKeConnectionsHaveTheirOwnBucketAndNeverGetKod()
    {
        ClientLog log = Create(ntp: null, ntsKe: new RateLimitOptions(IntervalLog2: 6, Burst: 2, Leak: 4, Kod: 4));
        Assert.True(log.LimitsNtsKe);
        Assert.True(log.AdmitNtsKe(IPAddress.Parse("192.0.2.1")));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(log.AdmitNtsKe(IPAddress.Parse("::ffff:192.0.2.1")));
        int admitted = 0;
        for (int i = 0; i < 1600; i++)
        {
            RateLimitDecision decision = log.LogNtsKeAccess(s_client, _clock.NtpNow);
            Assert.NotEqual(RateLimitDecision.Kod, decision);
            admitted += decision == RateLimitDecision.Pass ? 1 : 0;
        }

        Assert.InRange(admitted, 60, 140);
        Assert.Equal(1600 - admitted, log.NtsKeDrops);
        Assert.Equal(1602, log.NtsKeHits);
        // NTP requests from the same address are not limited by the NTS-KE bucket.
        Assert.Equal(RateLimitDecision.Pass, log.LogNtpAccess(s_client, _clock.NtpNow));
    }

    [Fact]
    public void TheTableNeverHoldsMoreRecordsThanTheMemoryLimitAndReplacesTheLeastRecentlySeen()
    {
        // Room for one bucket of 16 records.
        ClientLog log = Create(ntp: null, memory: ClientLog.RecordSize * 16);
        Assert.Equal(16, log.Capacity);
        for (int i = 0; i < 16; i++)
        {
            log.LogNtpAccess(Address(i), _now);
            Advance(1);
        }

        Assert.Equal(16, log.Count);
        Assert.Equal(0, log.RecordsDropped);

        // Client 0 comes back, so client 1 is now the least recently seen and goes first.
        log.LogNtpAccess(Address(0), _now);
        Advance(1);
        log.LogNtpAccess(Address(100), _now);
        Assert.Equal(16, log.Count);
        Assert.Equal(1, log.RecordsDropped);
        string[] present = log.Snapshot(ntsKe: false, 100).Select(r => r.Address).ToArray();
        Assert.Contains("10.0.0.0", present);
        Assert.Contains("10.0.0.100", present);
        Assert.DoesNotContain("10.0.0.1", present);

        for (int i = 200; i < 300; i++)
        {
            log.LogNtpAccess(Address(i), _now);
        }

        Assert.Equal(16, log.Count);
        Assert.Equal(101, log.RecordsDropped);
    }

    [Fact]
    public void TheTableGrowsUpToItsLimitWithoutDroppingRecords()
    {
        ClientLog log = Create(ntp: null, memory: 524288);
        Assert.InRange(log.Capacity * ClientLog.RecordSize, 262144, 524288);
        for (int i = 0; i < 1000; i++)
        {
            log.LogNtpAccess(Address(i), _now);
        }

        Assert.Equal(1000, log.Count);
        Assert.Equal(0, log.RecordsDropped);
        Assert.Equal(1000, log.Snapshot(ntsKe: false, 5000).Count);
        Assert.Equal(10, log.Snapshot(ntsKe: false, 10).Count);
        Assert.Empty(log.Snapshot(ntsKe: true, 10));
    }

    [Fact]
    public void ReportsGiveCountsDropsAverageIntervalAndAge()
    {
        ClientLog log = Create(new RateLimitOptions(IntervalLog2: 5, Burst: 4, Leak: 4));
        var v6 = ClientLog.ToMapped(IPAddress.Parse("2001:db8::7"));
        for (int i = 0; i < 50; i++)
        {
            log.LogNtpAccess(s_client, _now);
            log.LogNtpAccess(v6, _now);
            Advance(16);
        }

        log.LogNtsKeAccess(v6, _now);
        _clock.Advance(_now.ToDateTime(s_start) - s_start + TimeSpan.FromSeconds(10));
        IReadOnlyList<ClientReport> rows = log.Snapshot(ntsKe: false, 10);
        Assert.Equal(2, rows.Count);
        ClientReport v4Row = rows.Single(r => r.Address == "192.0.2.1");
        Assert.Equal(50, v4Row.NtpRequests);
        // 16 s apart against 32 s allowed: the 4-request burst drains, then about half are limited (leak aside).
        Assert.InRange(v4Row.NtpDropped, 15, 30);
        Assert.Equal(4, v4Row.NtpInterval);
        Assert.InRange(v4Row.NtpLastAgo, 25.9, 26.1);
        Assert.Equal(ClientLog.UnknownInterval, v4Row.NtsKeInterval);
        Assert.Equal(-1, v4Row.NtsKeLastAgo);

        ClientReport ke = Assert.Single(log.Snapshot(ntsKe: true, 10));
        Assert.Equal("2001:db8::7", ke.Address);
        Assert.Equal(1, ke.NtsKeRequests);
        Assert.InRange(ke.NtsKeLastAgo, 9.9, 10.1);
    }

    [Fact]
    public void NoclientlogMeansNoTable()
    {
        var config = new TempusConfiguration { NoClientLog = true };
        Assert.Null(ClientLog.FromConfiguration(config, _clock));
        config.NoClientLog = false;
        config.RateLimit = new RateLimitOptions();
        ClientLog? log = ClientLog.FromConfiguration(config, _clock);
        Assert.NotNull(log);
        Assert.True(log.LimitsNtp);
        Assert.False(log.LimitsNtsKe);
    }

    [Theory]
    [InlineData(1.0, 0)]
    [InlineData(2.0, 16)]
    [InlineData(0.5, -16)]
    [InlineData(64.0, 96)]
    [InlineData(3.0, 24)]
    public void IntervalsAreKeptAsLog2TimesSixteen(double seconds, int expected) =>
        Assert.Equal(expected, ClientLog.Log2Scaled((ulong)NtpTimestamp.SecondsToFixed(seconds)));

    [Fact]
    public void AddressesMapBothWays()
    {
        Assert.Equal(((UInt128)0xffff << 32) | 0xC0000201, s_client);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), ClientLog.FromMapped(s_client));
        Assert.Equal(IPAddress.Parse("2001:db8::1"), ClientLog.FromMapped(ClientLog.ToMapped(IPAddress.Parse("2001:db8::1"))));
    }

    private static UInt128 Address(int i) => ClientLog.ToMapped(new IPAddress(new byte[] { 10, 0, (byte)(i >> 8), (byte)i }));
}
