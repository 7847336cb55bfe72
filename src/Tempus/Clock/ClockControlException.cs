namespace Tempus.Clock;

/// <summary>The kernel refused a clock adjustment; the message names the cause and what to do.</summary>
public sealed class ClockControlException : Exception
{
    /// <summary>Creates the exception for a failed clock_adjtime.</summary>
    /// <param name="errno">The error number clock_adjtime set.</param>
    /// <param name="message">What failed and what to do about it.</param>
    public ClockControlException(int errno, string message)
        : base(message)
    {
        Errno = errno;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public ClockControlException()
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">What failed.</param>
    public ClockControlException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public ClockControlException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The error number (EPERM = 1 without CAP_SYS_TIME), or 0 when not from the kernel.</summary>
    public int Errno { get; }
}
