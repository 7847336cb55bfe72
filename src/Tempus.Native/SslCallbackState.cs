namespace Tempus.Native;

/// <summary>
/// What OpenSSL's callbacks saw during one handshake, kept so the error a user gets can say more than
/// "certificate verify failed". Written only from callbacks, which run inside SSL_do_handshake on the
/// thread driving the session.
/// </summary>
internal sealed class SslCallbackState
{
    /// <summary>The first certificate verification failure (error, depth, certificate), or null.</summary>
    internal X509VerifyFailure? FirstVerifyFailure { get; set; }

    /// <summary>Server: the ClientHello carried no ALPN extension at all.</summary>
    internal bool ClientOfferedNoAlpn { get; set; }

    /// <summary>Server: the protocols a client offered when none was acceptable, comma-separated.</summary>
    internal string? RejectedAlpnOffer { get; set; }
}

/// <summary>A certificate verification failure as the verify callback saw it.</summary>
/// <param name="Error">The X509_V_ERR_* code.</param>
/// <param name="Depth">Position in the chain: 0 is the server's own certificate.</param>
/// <param name="Certificate">The certificate that failed, when OpenSSL had one at hand.</param>
internal sealed record X509VerifyFailure(int Error, int Depth, X509CertificateInfo? Certificate);
