using System.Globalization;
using System.Security.Cryptography;

using Tempus.Storage;

namespace Tempus.Nts;

/// <summary>
/// Reading and writing the small text files NTS keeps under <c>ntsdumpdir</c> (the server's <c>ntskeys</c>, the
/// client's sessions). They hold secrets, so the text lives in <see cref="char"/> and <see cref="byte"/> arrays that
/// are wiped after use, never in strings; reading is bounded in size and line length so a damaged or hostile file
/// cannot make the daemon buffer without limit.
/// </summary>
internal static class NtsStateFile
{
    /// <summary>The largest state file read; the biggest real one (16 server keys, or 8 cookies of 1024 bytes) is under 20 KiB.</summary>
    public const int MaxFileLength = 64 * 1024;

    /// <summary>The longest line accepted: a 1024-byte cookie in hex plus its keyword.</summary>
    public const int MaxLineLength = 2200;

    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="path"/> through <see cref="AtomicFile"/> (0600, temporary
    /// file, fsync, rename, directory fsync), creating the directory 0700 when missing.
    /// </summary>
    /// <exception cref="NtsStateFileException">The file cannot be written; the message names it and the cause.</exception>
    public static void WriteAtomic(string path, ReadOnlySpan<char> text)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        byte[] bytes = new byte[text.Length];
        try
        {
            for (int i = 0; i < text.Length; i++)
            {
                bytes[i] = (byte)text[i];
            }

            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            AtomicFile.Write(fullPath, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NtsStateFileException(fullPath, 0, $"cannot write: {e.Message} (is ntsdumpdir {directory} writable by the daemon's user?)", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Reads a whole state file as ASCII text into a wipeable array.</summary>
    /// <param name="path">The file.</param>
    /// <param name="length">How many characters of the returned array are the file.</param>
    /// <returns>The text; wipe it with <see cref="Wipe"/> when done.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DirectoryNotFoundException">Its directory does not exist.</exception>
    /// <exception cref="NtsStateFileException">The file cannot be read, is too long, or is not ASCII text.</exception>
    public static char[] ReadText(string path, out int length)
    {
        byte[] bytes = new byte[MaxFileLength + 1];
        try
        {
            int read = 0;
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
                int n;
                while (read < bytes.Length && (n = stream.Read(bytes, read, bytes.Length - read)) > 0)
                {
                    read += n;
                }
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new NtsStateFileException(path, 0, $"cannot read: {e.Message}", e);
            }

            if (read > MaxFileLength)
            {
                throw new NtsStateFileException(path, 0, $"longer than the {MaxFileLength} bytes an NTS state file can be: not a file Tempus wrote");
            }

            char[] text = new char[read];
            int line = 1;
            for (int i = 0; i < read; i++)
            {
                byte b = bytes[i];
                if (b == (byte)'\n')
                {
                    line++;
                }
                else if (b is < 0x20 or > 0x7E && b is not (byte)'\r' and not (byte)'\t')
                {
                    Wipe(text);
                    throw new NtsStateFileException(path, line, $"byte 0x{b:x2} at offset {i} is not printable ASCII: the file is damaged or not a file Tempus wrote");
                }

                text[i] = (char)b;
            }

            length = read;
            return text;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>Clears a text buffer that held secrets.</summary>
    public static void Wipe(char[]? text)
    {
        if (text is not null)
        {
            Array.Clear(text);
        }
    }

    /// <summary>Parses a lowercase or uppercase hex token of exactly <paramref name="destination"/>.Length bytes.</summary>
    public static bool TryParseHex(ReadOnlySpan<char> token, Span<byte> destination) =>
        token.Length == destination.Length * 2
        && Convert.FromHexString(token, destination, out int consumed, out int written) == System.Buffers.OperationStatus.Done
        && consumed == token.Length && written == destination.Length;

    /// <summary>Parses a non-negative decimal integer token.</summary>
    public static bool TryParseLong(ReadOnlySpan<char> token, out long value) =>
        long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}

/// <summary>Walks the lines of a state file, skipping blank lines and <c>#</c> comments, and splits them into tokens.</summary>
internal ref struct NtsStateFileReader
{
    private readonly ReadOnlySpan<char> _text;
    private readonly string _path;
    private int _position;

    public NtsStateFileReader(ReadOnlySpan<char> text, string path)
    {
        _text = text;
        _path = path;
    }

    /// <summary>The 1-based number of the last line returned.</summary>
    public int LineNumber { get; private set; }

    /// <summary>Reads the next meaningful line into at most <paramref name="tokens"/>.Length space-separated tokens.</summary>
    /// <returns>How many tokens, or 0 at the end of the file.</returns>
    /// <exception cref="NtsStateFileException">The line is too long or has more tokens than expected.</exception>
    public int ReadLine(scoped Span<Range> tokens, out ReadOnlySpan<char> line)
    {
        while (_position < _text.Length)
        {
            ReadOnlySpan<char> rest = _text.Slice(_position);
            int end = rest.IndexOf('\n');
            line = end < 0 ? rest : rest.Slice(0, end);
            _position += end < 0 ? rest.Length : end + 1;
            LineNumber++;
            if (line.Length > NtsStateFile.MaxLineLength)
            {
                throw Error($"line longer than {NtsStateFile.MaxLineLength} characters");
            }

            line = line.Trim();
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }

            // One more slot than asked for, to notice extra tokens.
            Span<Range> all = stackalloc Range[tokens.Length + 1];
            int count = line.SplitAny(all, " \t", StringSplitOptions.RemoveEmptyEntries);
            if (count > tokens.Length)
            {
                throw Error($"too many fields (at most {tokens.Length} expected)");
            }

            all.Slice(0, count).CopyTo(tokens);
            return count;
        }

        line = default;
        return 0;
    }

    /// <summary>An exception for the current line.</summary>
    public readonly NtsStateFileException Error(string cause) => new(_path, LineNumber, cause);
}

/// <summary>Builds the text of a state file in a wipeable buffer (secrets never become strings).</summary>
internal sealed class NtsStateFileWriter : IDisposable
{
    private char[] _buffer = new char[1024];
    private int _length;

    public ReadOnlySpan<char> Text => _buffer.AsSpan(0, _length);

    public NtsStateFileWriter Append(ReadOnlySpan<char> text)
    {
        Ensure(text.Length);
        text.CopyTo(_buffer.AsSpan(_length));
        _length += text.Length;
        return this;
    }

    public NtsStateFileWriter Append(long value)
    {
        Ensure(20);
        value.TryFormat(_buffer.AsSpan(_length), out int written, default, CultureInfo.InvariantCulture);
        _length += written;
        return this;
    }

    public NtsStateFileWriter AppendHex(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length * 2);
        Convert.TryToHexStringLower(bytes, _buffer.AsSpan(_length), out int written);
        _length += written;
        return this;
    }

    public NtsStateFileWriter Line() => Append("\n");

    public void Dispose()
    {
        Array.Clear(_buffer);
        _length = 0;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length)
        {
            return;
        }

        char[] bigger = new char[Math.Max(_buffer.Length * 2, _length + more)];
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        Array.Clear(_buffer);
        _buffer = bigger;
    }
}
