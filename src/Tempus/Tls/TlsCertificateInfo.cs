namespace Tempus.Tls;

/// <summary>The parts of an X.509 certificate an operator needs to see: who it names, who signed it, when it is valid.</summary>
/// <param name="Subject">Subject distinguished name in RFC 2253 form, e.g. <c>CN=ntp.example.com</c>.</param>
/// <param name="Issuer">Issuer distinguished name in RFC 2253 form.</param>
/// <param name="NotBefore">Start of the validity period (UTC).</param>
/// <param name="NotAfter">End of the validity period (UTC).</param>
public sealed record TlsCertificateInfo(string Subject, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    internal static TlsCertificateInfo? From(Native.X509CertificateInfo? info) =>
        info is null ? null : new TlsCertificateInfo(info.Subject, info.Issuer, info.NotBefore, info.NotAfter);
}
