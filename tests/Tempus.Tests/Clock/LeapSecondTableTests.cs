using System.Buffers.Binary;
using Tempus.Clock;
using Tempus.Protocol;

namespace Tempus.Tests.Clock;

/// <summary>leapsectz (TZif right/ zones, RFC 8536) and leapseclist (leap-seconds.list): parsing, queries, and rejects.</summary>
public sealed class LeapSecondTableTests : IDisposable
{
    private const string RightUtc = "/usr/share/zoneinfo/right/UTC";
    private const string LeapSecondsList = "/usr/share/zoneinfo/leap-seconds.list";
    private static readonly long s_end2016 = new DateTimeOffset(2017, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private static readonly long s_end2008 = new DateTimeOffset(2009, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-leap-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TheSystemsRightUtcZoneHasTheTwentySevenLeapSeconds()
    {
        Assert.True(File.Exists(RightUtc), $"{RightUtc} not found: install tzdata (apt-get install tzdata)");
        LeapSecondTable table = LeapSecondTable.ParseTzif(File.ReadAllBytes(RightUtc), RightUtc);

        Assert.Equal(27, table.Entries.Count);
        Assert.Equal(new LeapSecondEntry(78796800, 11), table.Entries[0]);
        Assert.Equal(new LeapSecondEntry(s_end2016, 37), table.Entries[^1]);
        Assert.Equal(LeapIndicator.InsertSecond, table.LeapAtEndOfDay(s_end2016 - 1));
        Assert.Equal(LeapIndicator.InsertSecond, table.LeapAtEndOfDay(s_end2016 - 86400));
        Assert.Equal(LeapIndicator.NoWarning, table.LeapAtEndOfDay(s_end2016 - 86401));
        Assert.Equal(LeapIndicator.NoWarning, table.LeapAtEndOfDay(s_end2016));
        Assert.Equal(36, table.TaiOffset(s_end2016 - 1));
        Assert.Equal(37, table.TaiOffset(s_end2016));
    }

    [Fact]
    public void TheSystemsLeapSecondsListAgreesWithTheRightZone()
    {
        Assert.True(File.Exists(LeapSecondsList), $"{LeapSecondsList} not found: install tzdata (apt-get install tzdata)");
        LeapSecondTable list = LeapSecondTable.ParseLeapSecondsList(File.ReadAllText(LeapSecondsList), LeapSecondsList);
        LeapSecondTable zone = LeapSecondTable.ParseTzif(File.ReadAllBytes(RightUtc), RightUtc);

        Assert.Equal(zone.Entries, list.Entries);
        Assert.NotNull(list.ExpiresUnixSeconds);
        Assert.True(list.ExpiresUnixSeconds > s_end2016);
    }

    [Fact]
    public void ANegativeLeapSecondAndAVersion4ExpiryAreRead()
    {
        // Two leap seconds, the second one deleted (none ever was, but the formats allow it), then the expiry record.
        long insertEnd = s_end2008;
        long deleteEnd = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        long expires = new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        byte[] tzif = Tzif('4', [(insertEnd, 1), (deleteEnd, 0), (expires, 0)]);

        LeapSecondTable table = LeapSecondTable.ParseTzif(tzif, "synthetic");

        Assert.Equal([new LeapSecondEntry(insertEnd, 11), new LeapSecondEntry(deleteEnd, 10)], table.Entries);
        Assert.Equal(expires, table.ExpiresUnixSeconds);
        Assert.Equal(LeapIndicator.InsertSecond, table.LeapAtEndOfDay(insertEnd - 10));
        Assert.Equal(LeapIndicator.DeleteSecond, table.LeapAtEndOfDay(deleteEnd - 10));
        Assert.False(table.IsExpiredAt(expires - 1));
        Assert.True(table.IsExpiredAt(expires));
    }

    [Fact]
    public void AVersion1FileIsReadFromItsThirtyTwoBitBlock()
    {
        LeapSecondTable table = LeapSecondTable.ParseTzif(Tzif('\0', [(s_end2008, 1)]), "v1");

        Assert.Equal([new LeapSecondEntry(s_end2008, 11)], table.Entries);
    }

    [Theory]
    [InlineData("magic", "synthetic: byte 0: not a TZif time zone file (no 'TZif' magic)")]
    [InlineData("version", "synthetic: byte 4: unknown TZif version byte 0x39")]
    [InlineData("truncated", "synthetic: byte 60: truncated: the version 1 data block needs 62 bytes")]
    [InlineData("counts", "synthetic: byte 20: inconsistent counts (isut 0, isstd 0, leap 1, time 0, type 0, char 4; RFC 8536 §3.1)")]
    [InlineData("step", "synthetic: byte 54: leap second record 1: correction 2 after 0 is not a step of one second (RFC 8536 §3.2)")]
    [InlineData("midday", "synthetic: byte 54: leap second record 1: occurrence 1230724800 is not at the end of a UTC day")]
    [InlineData("none", "synthetic: the zone has no leap seconds: use a right/ zone such as right/UTC")]
    public void AMalformedTzifFileIsRejectedWithThePlaceAndTheCause(string damage, string message)
    {
        byte[] data = damage switch
        {
            "magic" => [.. "TZxf"u8, .. Tzif('\0', [(s_end2008, 1)]).AsSpan(4)],
            "version" => Patch(Tzif('\0', [(s_end2008, 1)]), 4, (byte)'9'),
            "truncated" => Tzif('\0', [(s_end2008, 1)])[..60],
            "counts" => PatchCount(Tzif('\0', [(s_end2008, 1)]), 36, 0),
            "step" => Tzif('\0', [(s_end2008, 2)]),
            "midday" => Tzif('\0', [(s_end2008 - 43200, 1)]),
            _ => Tzif('\0', []),
        };

        LeapSecondFileException e = Assert.Throws<LeapSecondFileException>(() => LeapSecondTable.ParseTzif(data, "synthetic"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void ALeapSecondsListGivesFutureLeapsUntilItExpires()
    {
        LeapSecondTable table = LeapSecondTable.ParseLeapSecondsList(List(expiresNtp: 3881174400, ("3439756800", "34"), ("3865363200", "35")), "list");

        // 3865363200 NTP = 2022-06-28 00:00 UTC: the leap second is at the end of June 27 in this made-up list.
        long end = 3865363200 - 2208988800;
        Assert.Equal([new LeapSecondEntry(3439756800 - 2208988800, 34), new LeapSecondEntry(end, 35)], table.Entries);
        Assert.Equal(LeapIndicator.InsertSecond, table.LeapAtEndOfDay(end - 3600));
        Assert.Equal(3881174400 - 2208988800, table.ExpiresUnixSeconds);
    }

    [Fact]
    public void DaysAfterTheExpiryAreUnknown()
    {
        // Expires 2022-06-01, before the listed leap at the end of 2022-06-27: that leap second is not announced.
        LeapSecondTable table = LeapSecondTable.ParseLeapSecondsList(List(expiresNtp: 3863030400, ("2272060800", "10"), ("3865363200", "11")), "list");

        Assert.Equal(LeapIndicator.NoWarning, table.LeapAtEndOfDay(3865363200 - 2208988800 - 3600));
    }

    [Theory]
    [InlineData("2272060800 10 extra", "list:1: expected 'NTP-seconds TAI-UTC', two numbers")]
    [InlineData("2272060800 ten", "list:1: TAI-UTC 'ten' is not a number of seconds from 0 to 1000")]
    [InlineData("-5 10", "list:1: date '-5' is not a number of NTP seconds")]
    [InlineData("2272060801 10", "list:1: the date is not a UTC midnight after the previous line's")]
    [InlineData("2272060800 10\n2287785600 12", "list:2: TAI-UTC goes from 10 to 12: a leap second changes it by one")]
    [InlineData("2287785600 11\n2272060800 12", "list:2: the date is not a UTC midnight after the previous line's")]
    [InlineData("#@ soon", "list:1: expiry 'soon' is not a number of NTP seconds")]
    [InlineData("# only comments", "list: no 'NTP-seconds TAI-UTC' line: not a leap-seconds.list")]
    public void AMalformedLeapSecondsListIsRejectedWithTheLineAndTheCause(string text, string message)
    {
        LeapSecondFileException e = Assert.Throws<LeapSecondFileException>(() => LeapSecondTable.ParseLeapSecondsList(text, "list"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void TheFileIsReadAgainWhenItChangesAndABrokenUpdateKeepsTheTableInUse()
    {
        string path = Path.Combine(_dir, "leap-seconds.list");
        File.WriteAllText(path, List(expiresNtp: null, ("3439756800", "34")));
        LeapSecondFile file = LeapSecondFile.ForList(path);
        long future = new DateTimeOffset(2027, 6, 30, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
        long ns = future * 1_000_000_000;
        Assert.Equal(LeapIndicator.NoWarning, file.LeapAtEndOfDay(ns));

        // A tzdata update announces a leap second at the end of 2027-06-30: seen within ten minutes, no restart.
        long julyNtp = new DateTimeOffset(2027, 7, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds() + 2208988800;
        File.WriteAllText(path, List(expiresNtp: null, ("3439756800", "34"), (julyNtp.ToString(System.Globalization.CultureInfo.InvariantCulture), "35")));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(LeapIndicator.NoWarning, file.LeapAtEndOfDay(ns + 1_000_000_000));
        Assert.Equal(LeapIndicator.InsertSecond, file.LeapAtEndOfDay(ns + 601_000_000_000));

        // A broken file: the table read before stays in use.
        File.WriteAllText(path, "garbage\n");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        Assert.Equal(LeapIndicator.InsertSecond, file.LeapAtEndOfDay(ns + 1202_000_000_000));
        Assert.Equal(2, file.Table!.Entries.Count);
    }

    [Fact]
    public void AZoneWithoutTheLeapSecondOf2008IsNotALeapSecondTable()
    {
        string path = Path.Combine(_dir, "fake");
        File.WriteAllBytes(path, Tzif('2', [(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), 1)]));

        LeapSecondFileException e = Assert.Throws<LeapSecondFileException>(() => LeapSecondFile.ForZone(path).Load());

        Assert.Equal($"{path}: it does not have the leap second of 2008-12-31, so it is not a leap second table (use a right/ zone such as right/UTC)", e.Message);
        Assert.Equal($"{_dir}/right/UTC", LeapSecondFile.ForZone("right/UTC", zoneInfoDirectory: _dir).Path);
        Assert.Contains("cannot read it", Assert.Throws<LeapSecondFileException>(() => LeapSecondFile.ForZone("right/UTC", zoneInfoDirectory: _dir).Load()).Message, StringComparison.Ordinal);
    }

    private static string List(long? expiresNtp, params (string Ntp, string Offset)[] lines) =>
        (expiresNtp is { } e ? $"#@\t{e}\n" : "") + "# a comment\n\n" + string.Concat(lines.Select(l => $"{l.Ntp}\t{l.Offset}\t# comment\n"));

    // A TZif file with no transitions, one type (UTC), and the given leap records (midnight after the leap day,
    // correction); versions 2 to 4 carry a 32-bit block and then the 64-bit block, as zic writes them.
    private static byte[] Tzif(char version, (long DayEnd, int Correction)[] leaps)
    {
        var records = new List<(long Occurrence, int Correction)>();
        int previous = 0;
        foreach ((long dayEnd, int correction) in leaps)
        {
            // occurrence = POSIX midnight + the leap seconds before it (less one for a deleted second); a repeated
            // correction (the expiry record) keeps the day end as given.
            long occurrence = correction == previous ? dayEnd + previous : correction > previous ? dayEnd + previous : dayEnd + previous - 1;
            records.Add((occurrence, correction));
            previous = correction;
        }

        var bytes = new List<byte>();
        Block(bytes, version, records, timeSize: 4);
        if (version != '\0')
        {
            Block(bytes, version, records, timeSize: 8);
            bytes.AddRange("\nUTC0\n"u8.ToArray());
        }

        return [.. bytes];
    }

    private static void Block(List<byte> bytes, char version, List<(long Occurrence, int Correction)> records, int timeSize)
    {
        byte[] header = new byte[44];
        "TZif"u8.CopyTo(header);
        header[4] = (byte)version;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(28), records.Count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(36), 1);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(40), 4);
        bytes.AddRange(header);
        bytes.AddRange(new byte[] { 0, 0, 0, 0, 0, 0 });
        bytes.AddRange("UTC\0"u8.ToArray());
        foreach ((long occurrence, int correction) in records)
        {
            byte[] record = new byte[timeSize + 4];
            if (timeSize == 8)
            {
                BinaryPrimitives.WriteInt64BigEndian(record, occurrence);
            }
            else
            {
                BinaryPrimitives.WriteInt32BigEndian(record, (int)occurrence);
            }

            BinaryPrimitives.WriteInt32BigEndian(record.AsSpan(timeSize), correction);
            bytes.AddRange(record);
        }
    }

    private static byte[] Patch(byte[] data, int at, byte value)
    {
        data[at] = value;
        return data;
    }

    private static byte[] PatchCount(byte[] data, int at, int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(at), value);
        return data;
    }
}
