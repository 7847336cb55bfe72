namespace Tempus.Auth;

/// <summary>A key file cannot be read or contains an invalid line; the message says where and why.</summary>
public sealed class KeyFileException : Exception
{
    /// <summary>Creates the exception; the message is "file:line: cause", or "cause" when <paramref name="line"/> is 0.</summary>
    /// <param name="fileName">The key file.</param>
    /// <param name="line">The 1-based line, or 0 when the problem is with the file as a whole.</param>
    /// <param name="cause">What is wrong, without the location.</param>
    /// <param name="innerException">The I/O error behind it, if any.</param>
    public KeyFileException(string fileName, int line, string cause, Exception? innerException = null)
        : base(line > 0 ? $"{fileName}:{line}: {cause}" : cause, innerException)
    {
        FileName = fileName;
        Line = line;
        Cause = cause;
    }

    /// <summary>Creates an exception with a file-level message.</summary>
    public KeyFileException()
        : this(string.Empty, 0, "invalid key file")
    {
    }

    /// <summary>Creates an exception with a file-level message.</summary>
    /// <param name="message">The cause.</param>
    public KeyFileException(string message)
        : this(string.Empty, 0, message)
    {
    }

    /// <summary>Creates an exception with a file-level message and the error behind it.</summary>
    /// <param name="message">The cause.</param>
    /// <param name="innerException">The error behind it.</param>
    public KeyFileException(string message, Exception innerException)
        : this(string.Empty, 0, message, innerException)
    {
    }

    /// <summary>The key file.</summary>
    public string FileName { get; }

    /// <summary>The 1-based line, or 0 when the problem is with the file as a whole.</summary>
    public int Line { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Cause { get; }
}
