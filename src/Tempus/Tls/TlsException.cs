namespace Tempus.Tls;

/// <summary>A TLS session for NTS-KE failed; the message names the peer, OpenSSL's reason and what to do.</summary>
public class TlsException : IOException
{
    /// <summary>Creates an exception with a message.</summary>
    public TlsException(string message)
        : base(message)
    {
        OpenSslErrors = [];
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public TlsException(string message, Exception? innerException)
        : base(message, innerException)
    {
        OpenSslErrors = [];
    }

    /// <summary>Creates an exception carrying OpenSSL's error queue.</summary>
    internal TlsException(string message, IReadOnlyList<string> openSslErrors, Exception? innerException)
        : base(message, innerException)
    {
        OpenSslErrors = openSslErrors;
    }

    /// <summary>Creates an exception with no message.</summary>
    public TlsException()
    {
        OpenSslErrors = [];
    }

    /// <summary>OpenSSL's error queue at the failure, oldest first (e.g. <c>error:0A000086:SSL routines::certificate verify failed</c>); empty when OpenSSL reported none.</summary>
    public IReadOnlyList<string> OpenSslErrors { get; }
}
