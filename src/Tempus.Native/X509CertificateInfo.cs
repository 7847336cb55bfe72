namespace Tempus.Native;

/// <summary>What Tempus reports about a certificate: names in RFC 2253 form and the validity period in UTC.</summary>
/// <param name="Subject">Subject distinguished name, e.g. <c>CN=ntp.example.com</c>.</param>
/// <param name="Issuer">Issuer distinguished name.</param>
/// <param name="NotBefore">Start of validity; <see cref="DateTimeOffset.MinValue"/> when unreadable.</param>
/// <param name="NotAfter">End of validity; <see cref="DateTimeOffset.MinValue"/> when unreadable.</param>
internal sealed record X509CertificateInfo(string Subject, string Issuer, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
