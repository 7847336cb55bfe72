namespace Tempus.Protocol.Tests;

public class NtpTimestampTests
{
    private const long NsPerSecond = 1_000_000_000;

    private static DateTime Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, DateTimeKind.Utc);

    private static long UnixNs(DateTime utc) => (utc - DateTime.UnixEpoch).Ticks * 100;

    [Fact]
    public void ANanosecondCountWhoseInstantDoesNotFitInALongIsReportedNotWrapped()
    {
        var t = NtpTimestamp.FromUnixTimeNanoseconds(long.MaxValue);
        Assert.Throws<OverflowException>(() => (t + (2L << 32)).ToUnixTimeNanoseconds(long.MaxValue - 1_000_000_000));
        Assert.Equal(long.MaxValue, t.ToUnixTimeNanoseconds(long.MaxValue));
    }

    [Fact]
    public void TheUnixEpochIsNtpSecond2208988800()
    {
        var t = NtpTimestamp.FromUnixTimeNanoseconds(0);
        Assert.Equal(2_208_988_800u, t.Seconds);
        Assert.Equal(0x83AA7E80u, t.Seconds);
        Assert.Equal(0u, t.Fraction);
        Assert.Equal(t, NtpTimestamp.FromDateTime(DateTime.UnixEpoch));
    }

    [Fact]
    public void TheStartOf2026IsNtpSecond0xED003780()
    {
        // 1767225600 s after the Unix epoch + 2208988800 s from 1900 = 3976214400 = 0xED003780.
        var expected = new NtpTimestamp(0xED003780, 0);
        Assert.Equal(expected, NtpTimestamp.FromDateTime(Utc(2026, 1, 1)));
        Assert.Equal(expected, NtpTimestamp.FromUnixTimeNanoseconds(1_767_225_600 * NsPerSecond));
        Assert.Equal(Utc(2026, 1, 1), expected.ToDateTime(Utc(2025, 6, 1)));
    }

    [Fact]
    public void TheEra0StartIs1900AndItsTickConstantIsRight()
    {
        Assert.Equal(Utc(1900, 1, 1), NtpTimestamp.Zero.ToDateTime(Utc(1920, 1, 1)));
        Assert.True(NtpTimestamp.Zero.IsZero);
        Assert.Equal(NtpTimestamp.Zero, NtpTimestamp.FromDateTime(Utc(1900, 1, 1)));
    }

    [Theory]
    [InlineData(15, 0xFFFFFFFFu)]
    [InlineData(16, 0u)]
    [InlineData(17, 1u)]
    public void TimestampConversionIsExactAcrossTheEra1Boundary(int second, uint expectedSeconds)
    {
        DateTime instant = Utc(2036, 2, 7, 6, 28, second);
        var t = NtpTimestamp.FromDateTime(instant);
        Assert.Equal(new NtpTimestamp(expectedSeconds, 0), t);
        Assert.Equal(t, NtpTimestamp.FromUnixTimeNanoseconds(UnixNs(instant)));

        foreach (DateTime pivot in new[] { Utc(2030, 1, 1), Utc(2036, 2, 7), Utc(2040, 1, 1), Utc(2000, 1, 1), Utc(2070, 1, 1) })
        {
            Assert.Equal(instant, t.ToDateTime(pivot));
            Assert.Equal(UnixNs(instant), t.ToUnixTimeNanoseconds(UnixNs(pivot)));
        }
    }

    [Fact]
    public void HalfASecondBeforeTheEra1BoundaryHasTheHighestSecondsAndHalfAFraction()
    {
        long ns = UnixNs(Utc(2036, 2, 7, 6, 28, 15)) + (NsPerSecond / 2);
        var t = NtpTimestamp.FromUnixTimeNanoseconds(ns);
        Assert.Equal(0xFFFFFFFF_80000000ul, t.Value);
        Assert.Equal(ns, t.ToUnixTimeNanoseconds(UnixNs(Utc(2040, 1, 1))));
    }

    public static TheoryData<DateTime, DateTime> InstantsAndPivots() => new()
    {
        { Utc(2030, 6, 15, 12, 0, 1), Utc(2010, 1, 1) },
        { Utc(2030, 6, 15, 12, 0, 1), Utc(2050, 1, 1) },
        { Utc(2040, 3, 1, 23, 59, 59), Utc(2020, 1, 1) },
        { Utc(2040, 3, 1, 23, 59, 59), Utc(2060, 1, 1) },
        { Utc(2100, 12, 31, 23, 59, 59), Utc(2080, 1, 1) },
        { Utc(2100, 12, 31, 23, 59, 59), Utc(2120, 1, 1) },
        { Utc(1985, 7, 4), Utc(2026, 1, 1) },
        { Utc(1969, 12, 31, 23, 59, 59), Utc(1970, 1, 1) },
    };

    [Theory]
    [MemberData(nameof(InstantsAndPivots))]
    public void DatesOnEitherSideOfThePivotResolveToTheirOwnEra(DateTime instant, DateTime pivot)
    {
        var t = NtpTimestamp.FromDateTime(instant.AddTicks(1234567));
        Assert.Equal(instant.AddTicks(1234567), t.ToDateTime(pivot));

        long ns = UnixNs(instant) + 123_456_789;
        var u = NtpTimestamp.FromUnixTimeNanoseconds(ns);
        Assert.Equal(ns, u.ToUnixTimeNanoseconds(UnixNs(pivot)));
    }

    [Fact]
    public void APivotMoreThan68YearsAwayResolvesToTheOtherEra()
    {
        // 2040 is within 2^31 s of 1980, but 80 years from 1960, where the nearest instant is 136 years earlier.
        var t = NtpTimestamp.FromDateTime(Utc(2040, 1, 1));
        Assert.Equal(Utc(2040, 1, 1), t.ToDateTime(Utc(1980, 1, 1)));
        Assert.Equal(Utc(2040, 1, 1) - TimeSpan.FromSeconds(1L << 32), t.ToDateTime(Utc(1960, 1, 1)));
        Assert.Equal(Utc(2040, 1, 1) + TimeSpan.FromSeconds(1L << 32), t.ToDateTime(Utc(2130, 1, 1)));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(2L)]
    [InlineData(499_999_999L)]
    [InlineData(500_000_000L)]
    [InlineData(999_999_999L)]
    [InlineData(-1L)]
    [InlineData(-999_999_999L)]
    public void NanosecondsSurviveTheRoundTripExactly(long nanoseconds)
    {
        long ns = (1_767_225_600 * NsPerSecond) + nanoseconds;
        Assert.Equal(ns, NtpTimestamp.FromUnixTimeNanoseconds(ns).ToUnixTimeNanoseconds(ns));
    }

    [Fact]
    public void EveryNanosecondOfManyRandomInstantsSurvivesTheRoundTrip()
    {
        var random = new Random(20260101);
        // Instants and pivots both stay inside the range of long nanoseconds (1677 to 2262).
        long min = UnixNs(Utc(1750, 1, 1));
        long max = UnixNs(Utc(2190, 1, 1));
        for (int i = 0; i < 100_000; i++)
        {
            long ns = random.NextInt64(min, max);
            var t = NtpTimestamp.FromUnixTimeNanoseconds(ns);
            Assert.Equal(ns, t.ToUnixTimeNanoseconds(ns + random.NextInt64(-(1L << 31) + 2, (1L << 31) - 2) * NsPerSecond));
        }
    }

    [Fact]
    public void EveryTickOfManyRandomDateTimesSurvivesTheRoundTrip()
    {
        var random = new Random(7822);
        long min = Utc(1905, 1, 1).Ticks;
        long max = Utc(2200, 1, 1).Ticks;
        for (int i = 0; i < 100_000; i++)
        {
            var instant = new DateTime(random.NextInt64(min, max), DateTimeKind.Utc);
            Assert.Equal(instant, NtpTimestamp.FromDateTime(instant).ToDateTime(instant.AddDays(random.Next(-24000, 24000))));
        }
    }

    [Fact]
    public void FractionsAreRoundedToTheNearestUnit()
    {
        Assert.Equal(0x80000000u, NtpTimestamp.FromUnixTimeNanoseconds(NsPerSecond / 2).Fraction);
        // 1 ns = 4.294967296 units of 2^-32 s.
        Assert.Equal(4u, NtpTimestamp.FromUnixTimeNanoseconds(1).Fraction);
        // 999999999 ns = 4294967291.705 units.
        Assert.Equal(4_294_967_292u, NtpTimestamp.FromUnixTimeNanoseconds(999_999_999).Fraction);
        // 1 tick = 429.4967296 units.
        Assert.Equal(429u, NtpTimestamp.FromDateTime(DateTime.UnixEpoch.AddTicks(1)).Fraction);
    }

    [Fact]
    public void AFractionWithinHalfANanosecondOfTheNextSecondCarriesIntoIt()
    {
        var t = new NtpTimestamp(0xED003780, 0xFFFFFFFF);
        long expected = (1_767_225_601 * NsPerSecond);
        Assert.Equal(expected, t.ToUnixTimeNanoseconds(expected));
        Assert.Equal(Utc(2026, 1, 1, 0, 0, 1), t.ToDateTime(Utc(2026, 1, 1)));
        Assert.Equal("2026-01-01T00:00:01.000000000Z", t.ToString(Utc(2026, 1, 1)));
    }

    [Fact]
    public void InstantsBefore1970ConvertWithAFloorNotATruncation()
    {
        var t = NtpTimestamp.FromUnixTimeNanoseconds(-1);
        Assert.Equal(2_208_988_799u, t.Seconds);
        Assert.Equal(4_294_967_292u, t.Fraction);
        Assert.Equal(-1, t.ToUnixTimeNanoseconds(0));
        Assert.Equal(DateTime.UnixEpoch.AddTicks(-1), NtpTimestamp.FromDateTime(DateTime.UnixEpoch.AddTicks(-1)).ToDateTime(DateTime.UnixEpoch));
    }

    [Fact]
    public void DifferenceIsCorrectAcrossTheEraWrap()
    {
        var before = NtpTimestamp.FromDateTime(Utc(2036, 2, 7, 6, 28, 14));
        var after = NtpTimestamp.FromDateTime(Utc(2036, 2, 7, 6, 28, 17));
        Assert.True(after.Value < before.Value);
        Assert.Equal(3L << 32, after - before);
        Assert.Equal(-(3L << 32), before - after);
        Assert.Equal(after, before + (3L << 32));
        Assert.Equal(before, after + (-(3L << 32)));
        Assert.Equal(after - before, after.Subtract(before));
        Assert.Equal(after, before.Add(3L << 32));
    }

    [Fact]
    public void DifferenceKeepsTheSubSecondPart()
    {
        var a = new NtpTimestamp(100, 0x40000000);
        var b = new NtpTimestamp(99, 0xC0000000);
        Assert.Equal(0x80000000L, a - b);
        Assert.Equal(0.5, NtpTimestamp.FixedToSeconds(a - b));
    }

    [Fact]
    public void FixedPointHelpersConvertAndSaturate()
    {
        Assert.Equal(0x1_8000_0000L, NtpTimestamp.SecondsToFixed(1.5));
        Assert.Equal(-0x1_8000_0000L, NtpTimestamp.SecondsToFixed(-1.5));
        Assert.Equal(1.5, NtpTimestamp.FixedToSeconds(0x1_8000_0000L));
        Assert.Equal(long.MaxValue, NtpTimestamp.SecondsToFixed(1e12));
        Assert.Equal(long.MinValue, NtpTimestamp.SecondsToFixed(double.NegativeInfinity));
        Assert.Throws<ArgumentException>(() => NtpTimestamp.SecondsToFixed(double.NaN));
    }

    [Fact]
    public void ReadAndWriteAreBigEndian()
    {
        byte[] bytes = [0xE8, 0xF1, 0xC0, 0xA2, 0x80, 0x00, 0x00, 0x01];
        var t = NtpTimestamp.Read(bytes);
        Assert.Equal(0xE8F1C0A2u, t.Seconds);
        Assert.Equal(0x80000001u, t.Fraction);
        var written = new byte[8];
        t.Write(written);
        Assert.Equal(bytes, written);
    }

    [Fact]
    public void ToStringShowsTheRawValueWithoutAPivotAndTheDateWithOne()
    {
        var t = new NtpTimestamp(0xE8494892, 0xF929579E);
        Assert.Equal("0xE8494892F929579E", t.ToString());
        Assert.Equal("2023-06-30T12:26:58.973287083Z", t.ToString(Utc(2026, 1, 1)));
        Assert.Equal("2036-02-07T06:28:16.000000000Z", NtpTimestamp.Zero.ToString(Utc(2030, 1, 1)));
    }

    [Fact]
    public void LocalDateTimesAreRejectedRatherThanConvertedThroughTheTimeZone()
    {
        var local = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Local);
        Assert.Throws<ArgumentException>(() => NtpTimestamp.FromDateTime(local));
        Assert.Throws<ArgumentException>(() => NtpTimestamp.Zero.ToDateTime(local));
    }

    [Fact]
    public void AnInstantOutsideTheRangeOfDateTimeIsReportedNotWrapped()
    {
        // The nearest instant to the pivot with these seconds lies 2^31 - 1 s after (or 2^31 s before) it.
        var max = DateTime.SpecifyKind(DateTime.MaxValue, DateTimeKind.Utc);
        var later = new NtpTimestamp(NtpTimestamp.FromDateTime(max).Seconds + 0x7FFFFFFFu, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => later.ToDateTime(max));
        var min = DateTime.SpecifyKind(DateTime.MinValue, DateTimeKind.Utc);
        var earlier = new NtpTimestamp(NtpTimestamp.FromDateTime(min).Seconds + 0x80000000u, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => earlier.ToDateTime(min));
    }

    [Fact]
    public void EqualityAndOrderingUseTheRawValue()
    {
        var a = new NtpTimestamp(1, 2);
        var b = new NtpTimestamp(((ulong)1 << 32) | 2);
        var c = new NtpTimestamp(1, 3);
        Assert.True(a == b);
        Assert.True(a != c);
        Assert.True(a < c && c > a && a <= b && a >= b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a.Equals((object)b));
        Assert.True(a.CompareTo(c) < 0);
    }
}
