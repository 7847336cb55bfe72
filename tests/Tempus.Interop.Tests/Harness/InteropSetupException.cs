namespace Tempus.Interop.Tests.Harness;

// Thrown when the environment cannot run a test (a peer is missing, a port is taken, a peer will not
// start). It fails the test with the message; interop tests never skip.
public sealed class InteropSetupException : Exception
{
    public InteropSetupException(string message)
        : base(message)
    {
    }

    public InteropSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InteropSetupException()
    {
    }
}
