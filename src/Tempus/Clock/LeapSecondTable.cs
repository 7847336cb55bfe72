using System.Buffers.Binary;
using System.Globalization;
using Tempus.Config;
using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>One change of TAI − UTC: from <see cref="StartUnixSeconds"/> (a UTC midnight) on, TAI − UTC is <see cref="TaiOffset"/>.</summary>
/// <param name="StartUnixSeconds">The POSIX time of the midnight that ends the leap second's day.</param>
/// <param name="TaiOffset">TAI − UTC in seconds from then on.</param>
public readonly record struct LeapSecondEntry(long StartUnixSeconds, int TaiOffset);

/// <summary>
/// The leap seconds of the system's time zone database: a <c>right/</c> zone in TZif form (RFC 8536, chrony's
/// <c>leapsectz right/UTC</c>) or an IERS/IETF <c>leap-seconds.list</c> (chrony's <c>leapseclist</c>). It says whether
/// a UTC day ends with a leap second, for sources that do not announce them or announce them late.
/// </summary>
/// <remarks>Both parsers are bounded (1 MiB, 1000 leap seconds) and name the place and the cause of what they reject.</remarks>
public sealed class LeapSecondTable
{
    /// <summary>Largest file read, bytes.</summary>
    public const int MaxFileSize = 1 << 20;

    /// <summary>Most leap seconds accepted (27 so far).</summary>
    public const int MaxEntries = 1000;

    private const long SecondsPerDay = 86400;

    // TAI − UTC before the first leap second (1972-01-01, when UTC took its present form).
    private const int InitialTaiOffset = 10;

    // RFC 8536 §3.2: leap-second occurrences are at least 2419199 s (28 days less a second) apart.
    private const long MinimumLeapSpacing = 2419199;

    private readonly LeapSecondEntry[] _entries;

    private LeapSecondTable(LeapSecondEntry[] entries, long? expiresUnixSeconds, string source)
    {
        _entries = entries;
        ExpiresUnixSeconds = expiresUnixSeconds;
        Source = source;
    }

    /// <summary>Every change of TAI − UTC, oldest first (leap-seconds.list's 1972 baseline is not a leap second and is left out).</summary>
    public IReadOnlyList<LeapSecondEntry> Entries => _entries;

    /// <summary>When the table stops being authoritative (leap-seconds.list's <c>#@</c> line, a TZif v4 expiry record), or null.</summary>
    public long? ExpiresUnixSeconds { get; }

    /// <summary>The file this table came from, for messages.</summary>
    public string Source { get; }

    /// <summary>
    /// The leap second at the end of the UTC day that holds <paramref name="unixSeconds"/>: insert, delete, or none.
    /// A day after <see cref="ExpiresUnixSeconds"/> is unknown and reads as none.
    /// </summary>
    /// <param name="unixSeconds">Any POSIX time in the day.</param>
    public LeapIndicator LeapAtEndOfDay(long unixSeconds)
    {
        long dayEnd = (Math.DivRem(unixSeconds, SecondsPerDay, out long rest) + (rest < 0 ? 0 : 1)) * SecondsPerDay;
        if (ExpiresUnixSeconds is { } expires && dayEnd > expires)
        {
            return LeapIndicator.NoWarning;
        }

        for (int i = 0; i < _entries.Length; i++)
        {
            if (_entries[i].StartUnixSeconds == dayEnd)
            {
                int previous = i == 0 ? InitialTaiOffset : _entries[i - 1].TaiOffset;
                return _entries[i].TaiOffset > previous ? LeapIndicator.InsertSecond : LeapIndicator.DeleteSecond;
            }
        }

        return LeapIndicator.NoWarning;
    }

    /// <summary>TAI − UTC at <paramref name="unixSeconds"/>, or null before 1972.</summary>
    /// <param name="unixSeconds">A POSIX time.</param>
    public int? TaiOffset(long unixSeconds)
    {
        if (unixSeconds < 63072000)
        {
            return null;
        }

        int offset = InitialTaiOffset;
        foreach (LeapSecondEntry e in _entries)
        {
            if (e.StartUnixSeconds > unixSeconds)
            {
                break;
            }

            offset = e.TaiOffset;
        }

        return offset;
    }

    /// <summary>Whether the table no longer covers <paramref name="unixSeconds"/> (its expiry date has passed).</summary>
    /// <param name="unixSeconds">A POSIX time.</param>
    public bool IsExpiredAt(long unixSeconds) => ExpiresUnixSeconds is { } expires && unixSeconds >= expires;

    /// <summary>Reads a TZif file (RFC 8536, versions 1 to 4) and keeps its leap-second records.</summary>
    /// <param name="data">The file's bytes.</param>
    /// <param name="source">The file's name, for messages.</param>
    /// <exception cref="LeapSecondFileException">The file is not TZif, is truncated or inconsistent, or has no leap seconds (not a <c>right/</c> zone).</exception>
    public static LeapSecondTable ParseTzif(ReadOnlySpan<byte> data, string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (data.Length > MaxFileSize)
        {
            throw new LeapSecondFileException(source, 0, $"{data.Length} bytes is more than a time zone file holds ({MaxFileSize})");
        }

        TzifHeader v1 = TzifHeader.Read(data, 0, source);
        int v1End = v1.DataEnd(timeSize: 4);
        if (v1End > data.Length)
        {
            throw LeapSecondFileException.AtByte(source, data.Length, $"truncated: the version 1 data block needs {v1End} bytes");
        }

        // Version 2 and later repeat the data with 64-bit times after the version 1 block: read those when present.
        (TzifHeader header, int timeSize) = v1.Version >= 2 ? (TzifHeader.Read(data, v1End, source), 8) : (v1, 4);
        int end = header.DataEnd(timeSize);
        if (end > data.Length)
        {
            throw LeapSecondFileException.AtByte(source, data.Length, $"truncated: the data block at offset {header.Offset} needs {end - header.Offset} bytes");
        }

        int offset = header.LeapOffset(timeSize);
        int recordSize = timeSize + 4;
        var entries = new List<LeapSecondEntry>(header.LeapCount);
        long? expires = null;
        int previousCorrection = 0;
        long previousOccurrence = long.MinValue;
        for (int i = 0; i < header.LeapCount; i++, offset += recordSize)
        {
            long occurrence = timeSize == 8 ? BinaryPrimitives.ReadInt64BigEndian(data[offset..]) : BinaryPrimitives.ReadInt32BigEndian(data[offset..]);
            int correction = BinaryPrimitives.ReadInt32BigEndian(data[(offset + timeSize)..]);
            if (occurrence < 0 || (i > 0 && occurrence - previousOccurrence < MinimumLeapSpacing))
            {
                throw LeapSecondFileException.AtByte(source, offset, $"leap second record {i + 1}: occurrence {occurrence} is negative or within 28 days of the previous one (RFC 8536 §3.2)");
            }

            int step = correction - previousCorrection;
            if (step == 0 && i == header.LeapCount - 1 && i > 0)
            {
                // RFC 8536 §3.2 (version 4): a last record repeating the correction marks when the table expires.
                expires = occurrence - previousCorrection;
                break;
            }

            if (step is not (1 or -1))
            {
                throw LeapSecondFileException.AtByte(source, offset, $"leap second record {i + 1}: correction {correction} after {previousCorrection} is not a step of one second (RFC 8536 §3.2)");
            }

            // The occurrence counts the leap seconds before it: less those, it is the POSIX midnight ending the leap day.
            long start = occurrence - previousCorrection + (step < 0 ? 1 : 0);
            if (start % SecondsPerDay != 0)
            {
                throw LeapSecondFileException.AtByte(source, offset, $"leap second record {i + 1}: occurrence {occurrence} is not at the end of a UTC day");
            }

            entries.Add(new LeapSecondEntry(start, InitialTaiOffset + correction));
            previousCorrection = correction;
            previousOccurrence = occurrence;
        }

        if (entries.Count == 0)
        {
            throw new LeapSecondFileException(source, 0, "the zone has no leap seconds: use a right/ zone such as right/UTC");
        }

        return new LeapSecondTable([.. entries], expires, source);
    }

    /// <summary>
    /// Reads a <c>leap-seconds.list</c> (IERS/IETF format, as shipped by tzdata): lines of
    /// <c>NTP-seconds TAI−UTC [# comment]</c>, the expiry in a <c>#@ NTP-seconds</c> line, other <c>#</c> lines comments.
    /// </summary>
    /// <param name="text">The file's text.</param>
    /// <param name="source">The file's name, for messages.</param>
    /// <exception cref="LeapSecondFileException">A line is malformed, the dates go backwards, an offset changes by more than one second, or there is no entry.</exception>
    public static LeapSecondTable ParseLeapSecondsList(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        if (text.Length > MaxFileSize)
        {
            throw new LeapSecondFileException(source, 0, $"{text.Length} characters is more than a leap second list holds ({MaxFileSize})");
        }

        var entries = new List<LeapSecondEntry>();
        long? expires = null;
        int? previousOffset = null;
        long previousStart = long.MinValue;
        int lineNumber = 0;
        Span<Range> fields = stackalloc Range[3];
        foreach (ReadOnlySpan<char> raw in text.AsSpan().EnumerateLines())
        {
            lineNumber++;
            ReadOnlySpan<char> line = raw.Trim();
            if (line.StartsWith("#@"))
            {
                expires = NtpSecondsToUnix(ParseNtpSeconds(line[2..].Trim(), source, lineNumber, "expiry"));
                continue;
            }

            int hash = line.IndexOf('#');
            if (hash >= 0)
            {
                line = line[..hash].TrimEnd();
            }

            if (line.IsEmpty)
            {
                continue;
            }

            if (line.SplitAny(fields, " \t", StringSplitOptions.RemoveEmptyEntries) != 2)
            {
                throw new LeapSecondFileException(source, lineNumber, "expected 'NTP-seconds TAI-UTC', two numbers");
            }

            long start = NtpSecondsToUnix(ParseNtpSeconds(line[fields[0]], source, lineNumber, "date"));
            if (!int.TryParse(line[fields[1]], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int offset) || offset is < 0 or > 1000)
            {
                throw new LeapSecondFileException(source, lineNumber, $"TAI-UTC '{Printable(line[fields[1]])}' is not a number of seconds from 0 to 1000");
            }

            if (start % SecondsPerDay != 0 || start <= previousStart)
            {
                throw new LeapSecondFileException(source, lineNumber, "the date is not a UTC midnight after the previous line's");
            }

            if (previousOffset is { } previous && Math.Abs(offset - previous) != 1)
            {
                throw new LeapSecondFileException(source, lineNumber, $"TAI-UTC goes from {previous} to {offset}: a leap second changes it by one");
            }

            if (entries.Count >= MaxEntries)
            {
                throw new LeapSecondFileException(source, lineNumber, $"more than {MaxEntries} leap seconds");
            }

            // The first line is the 1972 baseline (TAI − UTC = 10), not a leap second.
            if (previousOffset is not null || offset != InitialTaiOffset)
            {
                entries.Add(new LeapSecondEntry(start, offset));
            }

            previousOffset = offset;
            previousStart = start;
        }

        if (previousOffset is null)
        {
            throw new LeapSecondFileException(source, 0, "no 'NTP-seconds TAI-UTC' line: not a leap-seconds.list");
        }

        return new LeapSecondTable([.. entries], expires, source);
    }

    private static long ParseNtpSeconds(ReadOnlySpan<char> field, string source, int line, string what) =>
        long.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) && seconds < 1L << 40
            ? seconds
            : throw new LeapSecondFileException(source, line, $"{what} '{Printable(field)}' is not a number of NTP seconds");

    // NTP era 0 seconds (since 1900) to POSIX seconds.
    private static long NtpSecondsToUnix(long ntpSeconds) => ntpSeconds - 2208988800L;

    private static string Printable(ReadOnlySpan<char> s) => DiagnosticText.Printable(s.ToString(), 24);

    // RFC 8536 §3.1: "TZif", version, 15 unused bytes, then six 32-bit big-endian counts.
    private readonly record struct TzifHeader(int Offset, int Version, int UtCount, int StdCount, int LeapCount, int TimeCount, int TypeCount, int CharCount)
    {
        public const int Size = 44;

        public static TzifHeader Read(ReadOnlySpan<byte> data, int offset, string source)
        {
            if (data.Length - offset < Size)
            {
                throw LeapSecondFileException.AtByte(source, offset, $"truncated: a TZif header needs {Size} bytes");
            }

            ReadOnlySpan<byte> h = data.Slice(offset, Size);
            if (!h.StartsWith("TZif"u8))
            {
                throw LeapSecondFileException.AtByte(source, offset, "not a TZif time zone file (no 'TZif' magic)");
            }

            int version = h[4] switch
            {
                0 => 1,
                (byte)'2' => 2,
                (byte)'3' => 3,
                (byte)'4' => 4,
                byte other => throw LeapSecondFileException.AtByte(source, offset + 4, $"unknown TZif version byte 0x{other:X2}"),
            };

            var header = new TzifHeader(offset, version, Count(h, 20), Count(h, 24), Count(h, 28), Count(h, 32), Count(h, 36), Count(h, 40));
            if (header.LeapCount > MaxEntries || header.TimeCount > 100_000 || header.TypeCount is 0 or > 256 || header.CharCount > 65536
                || (header.UtCount != 0 && header.UtCount != header.TypeCount) || (header.StdCount != 0 && header.StdCount != header.TypeCount))
            {
                throw LeapSecondFileException.AtByte(
                    source,
                    offset + 20,
                    $"inconsistent counts (isut {header.UtCount}, isstd {header.StdCount}, leap {header.LeapCount}, time {header.TimeCount}, type {header.TypeCount}, char {header.CharCount}; RFC 8536 §3.1)");
            }

            return header;

            static int Count(ReadOnlySpan<byte> h, int at)
            {
                uint value = BinaryPrimitives.ReadUInt32BigEndian(h[at..]);
                return value > int.MaxValue / 16 ? int.MaxValue / 16 : (int)value;
            }
        }

        public int LeapOffset(int timeSize) => Offset + Size + (TimeCount * timeSize) + TimeCount + (TypeCount * 6) + CharCount;

        public int DataEnd(int timeSize) => LeapOffset(timeSize) + (LeapCount * (timeSize + 4)) + StdCount + UtCount;
    }
}

/// <summary>A leap second file (<c>leapsectz</c> zone, <c>leapseclist</c>) cannot be read or is malformed; the message says where and why.</summary>
public sealed class LeapSecondFileException : Exception
{
    /// <summary>Creates the exception: "file:line: cause", or "file: cause" when <paramref name="line"/> is 0.</summary>
    /// <param name="fileName">The file.</param>
    /// <param name="line">The 1-based line, or 0 for the file as a whole.</param>
    /// <param name="cause">What is wrong.</param>
    /// <param name="innerException">The I/O error behind it, if any.</param>
    public LeapSecondFileException(string fileName, int line, string cause, Exception? innerException = null)
        : this(fileName, line > 0 ? line.ToString(CultureInfo.InvariantCulture) : null, cause, innerException)
    {
    }

    private LeapSecondFileException(string fileName, string? location, string cause, Exception? innerException)
        : base(location is null ? $"{fileName}: {cause}" : $"{fileName}:{location}: {cause}", innerException)
    {
        FileName = fileName;
        Cause = cause;
    }

    /// <summary>Creates an exception with a generic message.</summary>
    public LeapSecondFileException()
        : this(string.Empty, 0, "invalid leap second file")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The cause.</param>
    public LeapSecondFileException(string message)
        : this(string.Empty, 0, message)
    {
    }

    /// <summary>Creates an exception with a message and the error behind it.</summary>
    /// <param name="message">The cause.</param>
    /// <param name="innerException">The error behind it.</param>
    public LeapSecondFileException(string message, Exception innerException)
        : this(string.Empty, 0, message, innerException)
    {
    }

    /// <summary>The file.</summary>
    public string FileName { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Cause { get; }

    /// <summary>A problem in a binary (TZif) file: "file: byte N: cause".</summary>
    /// <param name="fileName">The file.</param>
    /// <param name="offset">The byte offset of the problem.</param>
    /// <param name="cause">What is wrong.</param>
    public static LeapSecondFileException AtByte(string fileName, int offset, string cause) =>
        new(fileName, $" byte {offset.ToString(CultureInfo.InvariantCulture)}", cause, null);
}
