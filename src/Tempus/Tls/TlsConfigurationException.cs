namespace Tempus.Tls;

/// <summary>A certificate, key or trust file for NTS-KE could not be used; the message names the file and OpenSSL's reason.</summary>
public sealed class TlsConfigurationException : Exception
{
    /// <summary>Creates an exception naming the file at fault.</summary>
    public TlsConfigurationException(string message, string? path, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
    }

    /// <summary>Creates an exception with a message.</summary>
    public TlsConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    public TlsConfigurationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with no message.</summary>
    public TlsConfigurationException()
    {
    }

    /// <summary>The file or directory at fault, when there is one.</summary>
    public string? Path { get; }
}
