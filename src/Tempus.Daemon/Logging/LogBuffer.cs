using System.Text.Unicode;

namespace Tempus.Daemon.Logging;

/// <summary>
/// One growable byte buffer reused for every entry, with a hard upper bound: writes past <see cref="Capacity"/> are
/// cut, never thrown. Not thread-safe: <see cref="LogOutput"/> uses it under its lock.
/// </summary>
internal sealed class LogBuffer
{
    private const int InitialSize = 1024;

    // A rare huge entry (an exception with a deep stack) may grow the buffer; above this it is dropped again after
    // the write instead of being kept for the life of the process.
    private const int RetainedSize = 16 * 1024;

    private byte[] _bytes;

    public LogBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 64);
        Capacity = capacity;
        _bytes = new byte[Math.Min(InitialSize, capacity)];
    }

    /// <summary>The most bytes one entry can have.</summary>
    public int Capacity { get; }

    /// <summary>Bytes written so far.</summary>
    public int Length { get; private set; }

    /// <summary>How many more bytes fit.</summary>
    public int Remaining => Capacity - Length;

    public ReadOnlySpan<byte> Written => _bytes.AsSpan(0, Length);

    /// <summary>Empties the buffer for the next entry, giving back a grown array that is larger than usual.</summary>
    public void Clear()
    {
        Length = 0;
        if (_bytes.Length > RetainedSize)
        {
            _bytes = new byte[RetainedSize];
        }
    }

    /// <summary>
    /// A span to write at most <paramref name="sizeHint"/> bytes into, then <see cref="Advance"/>: shorter than asked
    /// when the entry would pass <see cref="Capacity"/>.
    /// </summary>
    public Span<byte> GetSpan(int sizeHint)
    {
        int wanted = (int)Math.Min((long)Length + Math.Max(sizeHint, 0), Capacity);
        if (wanted > _bytes.Length)
        {
            Array.Resize(ref _bytes, (int)Math.Min(Math.Max((long)_bytes.Length * 2, wanted), Capacity));
        }

        return _bytes.AsSpan(Length, wanted - Length);
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _bytes.Length - Length);
        Length += count;
    }

    /// <summary>The bytes at <paramref name="start"/>, written or obtained through <see cref="GetSpan"/>, for the journal's in-place field fix-up.</summary>
    public Span<byte> Slice(int start, int length) => _bytes.AsSpan(start, length);

    /// <summary>
    /// Moves the end of the entry: back to drop what was written after <paramref name="length"/>, or forward over bytes
    /// filled in through <see cref="GetSpan"/> or <see cref="Slice"/>.
    /// </summary>
    public void SetLength(int length)
    {
        if (length > Length)
        {
            _ = GetSpan(length - Length);
        }

        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _bytes.Length);
        Length = length;
    }

    /// <summary>Appends one byte; false when the buffer is full.</summary>
    public bool TryWrite(byte value)
    {
        Span<byte> span = GetSpan(1);
        if (span.IsEmpty)
        {
            return false;
        }

        span[0] = value;
        Length++;
        return true;
    }

    /// <summary>Appends <paramref name="bytes"/>, cut at <see cref="Capacity"/>.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        Span<byte> span = GetSpan(bytes.Length);
        bytes[..span.Length].CopyTo(span);
        Length += span.Length;
    }

    /// <summary>
    /// Appends <paramref name="text"/> as UTF-8, at most <paramref name="maxBytes"/> bytes of it and never past
    /// <see cref="Capacity"/>; the cut falls between characters, and unpaired surrogates become U+FFFD. Returns the
    /// number of bytes written.
    /// </summary>
    public int WriteUtf8(ReadOnlySpan<char> text, int maxBytes = int.MaxValue) => WriteUtf8(text, maxBytes, out _);

    /// <summary>
    /// As <see cref="WriteUtf8(ReadOnlySpan{char}, int)"/>; <paramref name="complete"/> is false when the text was cut.
    /// </summary>
    public int WriteUtf8(ReadOnlySpan<char> text, int maxBytes, out bool complete)
    {
        // A char is at most 3 UTF-8 bytes (a surrogate pair, 2 chars, is 4), so this many chars can always fill maxBytes.
        long chars = Math.Min(text.Length, (long)Math.Min(maxBytes, Remaining));
        Span<byte> span = GetSpan((int)Math.Min(Math.Min(maxBytes, Remaining), chars * 3));
        // DestinationTooSmall, or NeedMoreData for a surrogate pair cut by the char limit, both leave the cut at a
        // character boundary, which is what a bounded field wants.
        _ = Utf8.FromUtf16(text[..(int)chars], span, out int read, out int written, replaceInvalidSequences: true, isFinalBlock: chars == text.Length);
        complete = read == text.Length;
        Length += written;
        return written;
    }
}
