namespace Tempus.Protocol;

/// <summary>
/// A malformed NTP datagram, thrown only by the allocating convenience APIs (the CLI and tools); the packet path
/// uses the <c>TryRead</c>/<c>TryParse</c> methods, which return an <see cref="NtpParseStatus"/> instead.
/// </summary>
public sealed class NtpFormatException : FormatException
{
    /// <summary>Creates an exception for a parse failure.</summary>
    /// <param name="status">What was wrong.</param>
    /// <param name="offset">Where in the datagram it was found.</param>
    /// <param name="message">A description naming place and cause, usually from <see cref="NtpParseStatusExtensions.Describe(NtpParseStatus, int, ReadOnlySpan{byte})"/>.</param>
    public NtpFormatException(NtpParseStatus status, int offset, string message)
        : base(message)
    {
        Status = status;
        Offset = offset;
    }

    /// <summary>Creates an exception with a message only; <see cref="Status"/> is <see cref="NtpParseStatus.Ok"/> and <see cref="Offset"/> is -1.</summary>
    public NtpFormatException()
        : this("the NTP datagram is malformed")
    {
    }

    /// <summary>Creates an exception with a message only; <see cref="Status"/> is <see cref="NtpParseStatus.Ok"/> and <see cref="Offset"/> is -1.</summary>
    /// <param name="message">The description.</param>
    public NtpFormatException(string message)
        : base(message) => Offset = -1;

    /// <summary>Creates an exception wrapping another; <see cref="Status"/> is <see cref="NtpParseStatus.Ok"/> and <see cref="Offset"/> is -1.</summary>
    /// <param name="message">The description.</param>
    /// <param name="innerException">The underlying cause.</param>
    public NtpFormatException(string message, Exception innerException)
        : base(message, innerException) => Offset = -1;

    /// <summary>The offset from the start of the datagram at which the problem was found, or -1 if unknown.</summary>
    public int Offset { get; }

    /// <summary>What was wrong with the datagram.</summary>
    public NtpParseStatus Status { get; }
}
