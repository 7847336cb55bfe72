namespace Tempus.Nts;

/// <summary>
/// An NTS state file under <c>ntsdumpdir</c> (the server's <c>ntskeys</c>, a client's saved session) cannot be read,
/// written, or parsed; the message says which file, which line, and why.
/// </summary>
public sealed class NtsStateFileException : Exception
{
    /// <summary>Creates the exception; the message is "file:line: cause", or "file: cause" when <paramref name="line"/> is 0.</summary>
    /// <param name="fileName">The state file.</param>
    /// <param name="line">The 1-based line, or 0 when the problem is with the file as a whole.</param>
    /// <param name="cause">What is wrong, without the location.</param>
    /// <param name="innerException">The I/O error behind it, if any.</param>
    public NtsStateFileException(string fileName, int line, string cause, Exception? innerException = null)
        : base(line > 0 ? $"{fileName}:{line}: {cause}" : $"{fileName}: {cause}", innerException)
    {
        FileName = fileName;
        Line = line;
        Cause = cause;
    }

    /// <summary>Creates an exception with a generic message.</summary>
    public NtsStateFileException()
        : this(string.Empty, 0, "invalid NTS state file")
    {
    }

    /// <summary>Creates an exception with a file-level message.</summary>
    /// <param name="message">The cause.</param>
    public NtsStateFileException(string message)
        : this(string.Empty, 0, message)
    {
    }

    /// <summary>Creates an exception with a file-level message and the error behind it.</summary>
    /// <param name="message">The cause.</param>
    /// <param name="innerException">The error behind it.</param>
    public NtsStateFileException(string message, Exception innerException)
        : this(string.Empty, 0, message, innerException)
    {
    }

    /// <summary>The state file.</summary>
    public string FileName { get; }

    /// <summary>The 1-based line, or 0 when the problem is with the file as a whole.</summary>
    public int Line { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Cause { get; }
}
