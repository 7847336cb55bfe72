using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Tempus.Daemon.Logging;

/// <summary>
/// One log entry in journald's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL): the payload of one datagram
/// to <c>/run/systemd/journal/socket</c> (or, for an entry too large for a datagram, the content of a sealed memfd
/// sent there, see <see cref="LogOutput"/>), a sequence of fields, each <c>NAME=value\n</c>, or, for a value with a
/// newline in it, <c>NAME\n</c>, the value's length as a 64-bit little-endian integer, the value and <c>\n</c>.
/// </summary>
/// <remarks>
/// Fields: <c>MESSAGE</c> (with the exception text after a newline, as the console formats showed it),
/// <c>PRIORITY</c>, <c>SYSLOG_IDENTIFIER=tempusd</c>, <c>TEMPUS_CATEGORY</c>, <c>TEMPUS_EVENT_ID</c>,
/// <c>TEMPUS_EVENT_NAME</c>, one <c>TEMPUS_&lt;NAME&gt;</c> per named value of the message template, so
/// <c>journalctl TEMPUS_SOURCE=time.example</c> finds a source's messages, then <c>TEMPUS_EXCEPTION</c>. Everything
/// is bounded, and cut rather than refused: a field name to 64 characters of <c>[A-Z0-9_]</c>, the message and the
/// exception to <see cref="MaxMessageBytes"/>, each other value to <see cref="MaxValueBytes"/>, the template's
/// values to <see cref="MaxTemplateValues"/>, and the entry to <see cref="MaxEntryBytes"/> (its buffer's capacity).
/// A value cut at its bound or at the entry's ends in <see cref="CutMarker"/>, as systemd's own ellipsizing does;
/// fields that no longer fit at all are left out. The message comes first and always fits; the exception, already
/// in the message, comes last, so an entry at its bound loses the second copy of it rather than the template's values.
/// </remarks>
internal static class JournalEntry
{
    /// <summary>
    /// The largest entry. One above the kernel's limit for a unix datagram (the send buffer, 208 KiB by default) goes
    /// through a memfd; journald itself takes far larger ones, so this bound is ours, for a process that logs a few
    /// lines a minute: an exception with a deep stack fits, a runaway message is cut.
    /// </summary>
    public const int MaxEntryBytes = 1024 * 1024;

    /// <summary>The most bytes of <c>MESSAGE</c> and of <c>TEMPUS_EXCEPTION</c>.</summary>
    public const int MaxMessageBytes = 512 * 1024;

    /// <summary>What a value cut at its bound ends in (U+2026, three bytes of UTF-8; systemd ellipsizes with it too).</summary>
    public const string CutMarker = "\u2026";

    /// <summary>The most bytes of any other value.</summary>
    public const int MaxValueBytes = 4 * 1024;

    /// <summary>The most named values of a message template sent as fields.</summary>
    public const int MaxTemplateValues = 32;

    /// <summary>journald's limit on a field name (JOURNAL_NATIVE_PROTOCOL: at most 64 characters).</summary>
    public const int MaxFieldNameLength = 64;

    // NAME + ('\n' + 64-bit length | '=') + value + '\n': the binary form's header is the larger.
    private const int FieldOverhead = 1 + sizeof(ulong) + 1;

    // A template value that formats into this many chars on the stack needs no string.
    private const int FormatStackChars = 128;

    // The most elements of a collection value, as LoggerMessage's formatter joins them with ", ".
    private const int MaxCollectionElements = 64;

    /// <summary>
    /// Writes the datagram for one entry into <paramref name="buffer"/> (which the caller cleared);
    /// <paramref name="values"/> is the state of a [LoggerMessage] or LoggerMessage.Define entry: the template's
    /// named values, then <c>{OriginalFormat}</c>.
    /// </summary>
    public static void Write(LogBuffer buffer, LogLevel level, string category, EventId eventId, string message, string? exception, IReadOnlyList<KeyValuePair<string, object?>>? values)
    {
        if (exception is null)
        {
            WriteField(buffer, "MESSAGE"u8, message, MaxMessageBytes);
        }
        else
        {
            // The exception text goes into MESSAGE as well, so plain journalctl shows why, as the console line did.
            WriteField(buffer, "MESSAGE"u8, message.Length == 0 ? exception : string.Concat(message, "\n", exception), MaxMessageBytes);
        }

        Span<char> number = stackalloc char[11];
        WriteField(buffer, "PRIORITY"u8, [(char)('0' + StderrLine.SyslogPriority(level))], MaxValueBytes);
        WriteField(buffer, "SYSLOG_IDENTIFIER"u8, "tempusd", MaxValueBytes);
        WriteField(buffer, "TEMPUS_CATEGORY"u8, category, MaxValueBytes);
        if (eventId.Id.TryFormat(number, out int digits, default, CultureInfo.InvariantCulture))
        {
            WriteField(buffer, "TEMPUS_EVENT_ID"u8, number[..digits], MaxValueBytes);
        }

        if (!string.IsNullOrEmpty(eventId.Name))
        {
            WriteField(buffer, "TEMPUS_EVENT_NAME"u8, eventId.Name, MaxValueBytes);
        }

        if (values is not null)
        {
            int written = 0;
            for (int i = 0; i < values.Count && written < MaxTemplateValues; i++)
            {
                KeyValuePair<string, object?> value = values[i];
                if (value.Key is null or "{OriginalFormat}")
                {
                    continue;
                }

                WriteTemplateValue(buffer, value.Key, value.Value);
                written++;
            }
        }

        if (exception is not null)
        {
            WriteField(buffer, "TEMPUS_EXCEPTION"u8, exception, MaxMessageBytes);
        }
    }

    /// <summary>
    /// Writes a journal field name for a template value: <c>TEMPUS_</c> and the name upper-cased, every character
    /// outside <c>[A-Z0-9_]</c> replaced by <c>_</c>, cut at 64 characters. The prefix keeps it from starting with
    /// <c>_</c> (journald's trusted fields) or a digit, both of which journald drops.
    /// </summary>
    public static int WriteFieldName(Span<byte> destination, ReadOnlySpan<char> name)
    {
        ReadOnlySpan<byte> prefix = "TEMPUS_"u8;
        prefix.CopyTo(destination);
        int length = Math.Min(prefix.Length + name.Length, Math.Min(MaxFieldNameLength, destination.Length));
        for (int i = prefix.Length; i < length; i++)
        {
            char c = char.ToUpperInvariant(name[i - prefix.Length]);
            destination[i] = c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' ? (byte)c : (byte)'_';
        }

        return length;
    }

    private static void WriteTemplateValue(LogBuffer buffer, string key, object? value)
    {
        Span<byte> name = stackalloc byte[MaxFieldNameLength];
        name = name[..WriteFieldName(name, key)];
        switch (value)
        {
            case null:
                // As LoggerMessage's formatter writes a null value into the message.
                WriteField(buffer, name, "(null)", MaxValueBytes);
                break;
            case string text:
                WriteField(buffer, name, text, MaxValueBytes);
                break;
            case IUtf8SpanFormattable formattable:
                int mark = buffer.Length;
                if (!BeginField(buffer, name, MaxValueBytes, out int header, out int limit))
                {
                    break;
                }

                if (formattable.TryFormat(buffer.GetSpan(Math.Min(limit, FormatStackChars)), out int written, default, CultureInfo.InvariantCulture))
                {
                    EndField(buffer, header, written);
                }
                else
                {
                    // Longer than a number or an address usually is: through a string, still bounded.
                    buffer.SetLength(mark);
                    WriteField(buffer, name, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", MaxValueBytes);
                }

                break;
            case ISpanFormattable formattable:
                Span<char> chars = stackalloc char[FormatStackChars];
                if (formattable.TryFormat(chars, out int charsWritten, default, CultureInfo.InvariantCulture))
                {
                    WriteField(buffer, name, chars[..charsWritten], MaxValueBytes);
                }
                else
                {
                    WriteField(buffer, name, formattable.ToString(null, CultureInfo.InvariantCulture), MaxValueBytes);
                }

                break;
            case IEnumerable collection:
                WriteField(buffer, name, JoinElements(collection), MaxValueBytes);
                break;
            default:
                WriteField(buffer, name, value.ToString() ?? "", MaxValueBytes);
                break;
        }
    }

    private static string JoinElements(IEnumerable collection)
    {
        var text = new System.Text.StringBuilder();
        int count = 0;
        foreach (object? element in collection)
        {
            if (count++ == MaxCollectionElements || text.Length >= MaxValueBytes)
            {
                text.Append(", ...");
                break;
            }

            if (count > 1)
            {
                text.Append(", ");
            }

            text.Append(element is null ? "(null)" : Convert.ToString(element, CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    /// <summary>
    /// Writes one field, its value cut at <paramref name="maxBytes"/> or where the entry is full, and then marked;
    /// leaves it out when the entry is full.
    /// </summary>
    private static void WriteField(LogBuffer buffer, ReadOnlySpan<byte> name, ReadOnlySpan<char> value, int maxBytes)
    {
        if (BeginField(buffer, name, maxBytes, out int header, out int limit))
        {
            int start = buffer.Length;
            int written = buffer.WriteUtf8(value, limit, out bool complete);
            EndField(buffer, header, complete ? written : MarkCut(buffer, start, written, limit));
        }
    }

    /// <summary>
    /// Ends a value cut at <paramref name="limit"/> bytes with <see cref="CutMarker"/>, dropping whole characters from
    /// its end to make room; returns the value's new length. Left unmarked when the limit is below the marker's size.
    /// </summary>
    private static int MarkCut(LogBuffer buffer, int start, int written, int limit)
    {
        ReadOnlySpan<byte> marker = "\u2026"u8;
        if (limit < marker.Length)
        {
            return written;
        }

        int keep = Math.Min(written, limit - marker.Length);
        while (keep > 0 && keep < written && (buffer.Slice(start + keep, 1)[0] & 0xC0) == 0x80)
        {
            keep--;
        }

        buffer.SetLength(start + keep);
        buffer.Write(marker);
        return keep + marker.Length;
    }

    /// <summary>
    /// Writes <paramref name="name"/> and reserves the binary form's header after it; the value goes right after (the
    /// buffer's end), at most <paramref name="limit"/> bytes, then <see cref="EndField"/>. False, and nothing
    /// written, when not even a one-byte value would fit.
    /// </summary>
    private static bool BeginField(LogBuffer buffer, ReadOnlySpan<byte> name, int maxBytes, out int header, out int limit)
    {
        header = limit = 0;
        if (buffer.Remaining < name.Length + FieldOverhead + 1)
        {
            return false;
        }

        buffer.Write(name);
        header = buffer.Length;
        buffer.SetLength(header + FieldOverhead - 1);

        // One byte stays free for the closing newline.
        limit = Math.Min(maxBytes, buffer.Remaining - 1);
        return true;
    }

    /// <summary>
    /// Completes a field whose <paramref name="length"/> value bytes follow the header reserved at
    /// <paramref name="header"/>: the binary form when the value holds a newline, else <c>=value\n</c> with the value
    /// moved back over the unused part of the header.
    /// </summary>
    private static void EndField(LogBuffer buffer, int header, int length)
    {
        Span<byte> field = buffer.Slice(header, FieldOverhead - 1 + length);
        ReadOnlySpan<byte> value = field[(FieldOverhead - 1)..];
        if (value.Contains((byte)'\n'))
        {
            field[0] = (byte)'\n';
            BinaryPrimitives.WriteUInt64LittleEndian(field[1..], (ulong)length);
            buffer.SetLength(header + FieldOverhead - 1 + length);
        }
        else
        {
            field[0] = (byte)'=';
            value.CopyTo(field[1..]); // Overlapping, moving down: Span.CopyTo copies as memmove does.
            buffer.SetLength(header + 1 + length);
        }

        buffer.TryWrite((byte)'\n');
    }
}
