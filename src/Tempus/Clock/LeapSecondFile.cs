using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Protocol;

namespace Tempus.Clock;

/// <summary>
/// The leap second file of <c>leapsectz</c> (a <c>right/</c> zone of the time zone database) or <c>leapseclist</c> (a
/// <c>leap-seconds.list</c>), read at start and again when it changes (a tzdata update announcing a leap second needs
/// no restart, as with chrony). It says whether today ends with a leap second when the sources say nothing.
/// </summary>
/// <remarks>
/// As chrony does, a file that does not hold the leap second of 2008-12-31 is not taken for a leap second table. A
/// file that breaks while in use keeps the table last read, with a warning.
/// </remarks>
public sealed partial class LeapSecondFile
{
    /// <summary>The leap second every real table holds (2008-12-31 23:59:60), chrony's test of a leap source.</summary>
    public const long KnownLeapSecondDayEnd = 1230768000;

    /// <summary>The default directory of the time zone database (<c>TZDIR</c> overrides it).</summary>
    public const string DefaultZoneInfoDirectory = "/usr/share/zoneinfo";

    private static readonly long s_recheckNs = TimeSpan.FromMinutes(10).Ticks * 100;

    private readonly ILogger _logger;
    private readonly bool _isZone;
    private long? _lastCheckNs;
    private DateTime _lastWrite;
    private long _lastLength = -1;
    private string? _lastProblem;
    private bool _expiryReported;

    private LeapSecondFile(string directive, string path, bool isZone, ILogger? logger)
    {
        Directive = directive;
        Path = path;
        _isZone = isZone;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The configuration line this file comes from, e.g. <c>leapsectz right/UTC</c>.</summary>
    public string Directive { get; }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The table in use, or null before <see cref="Load"/> succeeded.</summary>
    public LeapSecondTable? Table { get; private set; }

    /// <summary><c>leapsectz ZONE</c>: the zone's TZif file under <c>TZDIR</c> or /usr/share/zoneinfo, or an absolute path.</summary>
    /// <param name="zone">The zone, normally <c>right/UTC</c>.</param>
    /// <param name="logger">Where reload problems and expiry are reported.</param>
    /// <param name="zoneInfoDirectory">The database's directory; <c>TZDIR</c> or <see cref="DefaultZoneInfoDirectory"/> when null.</param>
    public static LeapSecondFile ForZone(string zone, ILogger? logger = null, string? zoneInfoDirectory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(zone);
        string? tzdir = Environment.GetEnvironmentVariable("TZDIR");
        string directory = zoneInfoDirectory ?? (string.IsNullOrEmpty(tzdir) ? DefaultZoneInfoDirectory : tzdir);
        string path = System.IO.Path.IsPathRooted(zone) ? zone : System.IO.Path.Combine(directory, zone);
        return new LeapSecondFile($"leapsectz {zone}", path, isZone: true, logger);
    }

    /// <summary><c>leapseclist FILE</c>: a leap-seconds.list.</summary>
    /// <param name="path">The file.</param>
    /// <param name="logger">Where reload problems and expiry are reported.</param>
    public static LeapSecondFile ForList(string path, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new LeapSecondFile($"leapseclist {path}", path, isZone: false, logger);
    }

    /// <summary>Reads the file now and makes it the table in use.</summary>
    /// <returns>The table.</returns>
    /// <exception cref="LeapSecondFileException">The file cannot be read, is malformed, or lacks the 2008-12-31 leap second.</exception>
    public LeapSecondTable Load()
    {
        LeapSecondTable table = Read(out DateTime lastWrite, out long length);
        Table = table;
        _lastWrite = lastWrite;
        _lastLength = length;
        _lastProblem = null;
        return table;
    }

    /// <summary>
    /// The leap second at the end of the UTC day holding <paramref name="unixNanoseconds"/>, from the table in use;
    /// every ten minutes the file is checked for a change and read again.
    /// </summary>
    /// <param name="unixNanoseconds">The current (corrected) time.</param>
    public LeapIndicator LeapAtEndOfDay(long unixNanoseconds)
    {
        if (_lastCheckNs is not { } last || unixNanoseconds - last >= s_recheckNs || unixNanoseconds < last)
        {
            _lastCheckNs = unixNanoseconds;
            Refresh();
        }

        if (Table is not { } table)
        {
            return LeapIndicator.NoWarning;
        }

        long seconds = Math.DivRem(unixNanoseconds, 1_000_000_000L, out long rest) - (rest < 0 ? 1 : 0);
        if (table.IsExpiredAt(seconds) && !_expiryReported)
        {
            _expiryReported = true;
            LogExpired(_logger, Directive, DateTimeOffset.FromUnixTimeSeconds(table.ExpiresUnixSeconds!.Value).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        return table.LeapAtEndOfDay(seconds);
    }

    private void Refresh()
    {
        try
        {
            var info = new FileInfo(Path);
            if (Table is not null && info.Exists && info.LastWriteTimeUtc == _lastWrite && info.Length == _lastLength)
            {
                return;
            }

            LeapSecondTable table = Load();
            _expiryReported = false;
            int taiOffset = table.TaiOffset(DateTimeOffset.UtcNow.ToUnixTimeSeconds()) ?? 0;
            LogLoaded(_logger, Directive, table.Entries.Count, taiOffset);
        }
        catch (LeapSecondFileException e)
        {
            if (_lastProblem != e.Message)
            {
                _lastProblem = e.Message;
                LogUnusable(_logger, Directive, e.Message, Table is null ? "leap seconds come from the sources only" : "the table read before stays in use");
            }
        }
    }

    private LeapSecondTable Read(out DateTime lastWrite, out long length)
    {
        try
        {
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            var info = new FileInfo(Path);
            lastWrite = info.LastWriteTimeUtc;
            length = stream.Length;
            if (length > LeapSecondTable.MaxFileSize)
            {
                throw new LeapSecondFileException(Path, 0, $"{length} bytes is more than a leap second file holds ({LeapSecondTable.MaxFileSize})");
            }

            byte[] data = new byte[length];
            stream.ReadExactly(data);
            LeapSecondTable table = _isZone
                ? LeapSecondTable.ParseTzif(data, Path)
                : LeapSecondTable.ParseLeapSecondsList(System.Text.Encoding.UTF8.GetString(data), Path);
            if (table.LeapAtEndOfDay(KnownLeapSecondDayEnd - 1) != LeapIndicator.InsertSecond)
            {
                throw new LeapSecondFileException(Path, 0, "it does not have the leap second of 2008-12-31, so it is not a leap second table" + (_isZone ? " (use a right/ zone such as right/UTC)" : ""));
            }

            return table;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LeapSecondFileException(Path, 0, $"cannot read it: {e.Message}", e);
        }
    }

    [LoggerMessage(EventId = 220, Level = LogLevel.Information, Message = "{Directive}: {Count} leap seconds, TAI-UTC now {TaiOffset} s")]
    private static partial void LogLoaded(ILogger logger, string directive, int count, int taiOffset);

    [LoggerMessage(EventId = 221, Level = LogLevel.Warning, Message = "{Directive}: {Problem}; {Consequence}")]
    private static partial void LogUnusable(ILogger logger, string directive, string problem, string consequence);

    [LoggerMessage(EventId = 222, Level = LogLevel.Warning, Message = "{Directive}: the leap second table expired on {Expired}: update tzdata; until then only the sources announce leap seconds")]
    private static partial void LogExpired(ILogger logger, string directive, string expired);
}
