using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Tempus.Daemon.Logging;

/// <summary>
/// The two one-line stderr formats tempusd has always printed, byte for byte, so the tests and scripts that read
/// its output keep working: Microsoft.Extensions.Logging.Console's SimpleConsole with <c>SingleLine</c>, a UTC
/// <c>yyyy-MM-ddTHH:mm:ss.fffZ</c> timestamp and no colours (a terminal, a pipe or a file), and its Systemd
/// format (stderr is the journal's stream but the native socket refused the entry).
/// </summary>
internal static class StderrLine
{
    private const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";

    /// <summary>
    /// <c>2026-11-29T23:13:01.078Z info: Tempus.Nts.NtsKeServer[401] message exception</c>: newlines in the message
    /// and the exception text become spaces, as SimpleConsole's SingleLine does.
    /// </summary>
    public static void WriteSimple(LogBuffer buffer, DateTimeOffset utcNow, LogLevel level, string category, int eventId, string message, string? exception)
    {
        Span<byte> span = buffer.GetSpan(32);
        if (utcNow.UtcDateTime.TryFormat(span, out int written, TimestampFormat, CultureInfo.InvariantCulture))
        {
            buffer.Advance(written);
        }

        buffer.Write(LevelName(level));
        buffer.Write(": "u8);
        WriteTail(buffer, category, eventId, message, exception);
    }

    /// <summary>
    /// <c>&lt;6&gt;Tempus.Nts.NtsKeServer[401] message exception</c>: the syslog priority prefix journald reads from a
    /// service's stream, with no timestamp (the journal adds its own), as the Systemd console format does.
    /// </summary>
    public static void WriteSyslog(LogBuffer buffer, LogLevel level, string category, int eventId, string message, string? exception)
    {
        buffer.Write("<"u8);
        buffer.TryWrite((byte)('0' + SyslogPriority(level)));
        buffer.Write(">"u8);
        WriteTail(buffer, category, eventId, message, exception);
    }

    /// <summary>
    /// The syslog severity (RFC 5424 §6.2.1) of a level, as the Systemd console format maps them: Trace and Debug are
    /// debug (7), Information info (6), Warning warning (4), Error err (3), Critical crit (2).
    /// </summary>
    public static int SyslogPriority(LogLevel level) => level switch
    {
        LogLevel.Trace or LogLevel.Debug => 7,
        LogLevel.Information => 6,
        LogLevel.Warning => 4,
        LogLevel.Error => 3,
        _ => 2,
    };

    /// <summary>SimpleConsole's four-letter level names.</summary>
    public static ReadOnlySpan<byte> LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce"u8,
        LogLevel.Debug => "dbug"u8,
        LogLevel.Information => "info"u8,
        LogLevel.Warning => "warn"u8,
        LogLevel.Error => "fail"u8,
        _ => "crit"u8,
    };

    private static void WriteTail(LogBuffer buffer, string category, int eventId, string message, string? exception)
    {
        buffer.WriteUtf8(category);
        buffer.Write("["u8);
        Span<byte> span = buffer.GetSpan(11);
        if (eventId.TryFormat(span, out int written, default, CultureInfo.InvariantCulture))
        {
            buffer.Advance(written);
        }

        buffer.Write("]"u8);
        WriteOneLine(buffer, message);
        if (exception is not null)
        {
            WriteOneLine(buffer, exception);
        }

        // A line cut at the buffer's capacity still ends in a newline, so the next entry starts a line of its own: the
        // last character (all of its UTF-8 bytes) makes room for it.
        if (!buffer.TryWrite((byte)'\n'))
        {
            int end = buffer.Length - 1;
            while (end > 0 && (buffer.Slice(end, 1)[0] & 0xC0) == 0x80)
            {
                end--;
            }

            buffer.SetLength(end);
            buffer.TryWrite((byte)'\n');
        }
    }

    // Environment.NewLine is "\n" on Linux: that, and only that, becomes a space, as in both console formats.
    private static void WriteOneLine(LogBuffer buffer, string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        buffer.Write(" "u8);
        ReadOnlySpan<char> rest = text;
        for (int newline; (newline = rest.IndexOf('\n')) >= 0; rest = rest[(newline + 1)..])
        {
            buffer.WriteUtf8(rest[..newline]);
            buffer.Write(" "u8);
        }

        buffer.WriteUtf8(rest);
    }
}
