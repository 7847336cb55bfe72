using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tempus.Auth;

namespace Tempus.Tls;

/// <summary>
/// Makes a private CA and an NTS-KE server certificate signed by it (ECDSA P-256, PEM files), for NTS on a
/// private network or a lab where no public CA issues certificates: clients trust the CA with
/// <c>ntstrustedcerts</c>, the server uses the pair with <c>ntsservercert</c>/<c>ntsserverkey</c>.
/// </summary>
public static class PrivateCertificateAuthority
{
    /// <summary>The files written by <see cref="Create"/>.</summary>
    /// <param name="CaCertificateFile">The CA certificate, for the clients' <c>ntstrustedcerts</c>.</param>
    /// <param name="Server">The server certificate chain and its private key (mode 0600).</param>
    public sealed record Files(string CaCertificateFile, TlsCertificateKeyPair Server);

    /// <summary>
    /// Writes <c>ca.crt</c>, <c>server.crt</c> (server then CA) and <c>server.key</c> (0600) into
    /// <paramref name="directory"/>. Names that parse as IP addresses become IP SANs, the rest DNS SANs; the
    /// first name is the certificate's CN. The CA's private key is not kept: nothing else can be signed by it.
    /// </summary>
    /// <param name="directory">Where to write; created if missing.</param>
    /// <param name="names">Host names and addresses the server is reached by.</param>
    /// <param name="validity">How long the server certificate is valid from now.</param>
    /// <param name="now">The current time (certificates start an hour earlier to tolerate small clock errors).</param>
    public static Files Create(string directory, IReadOnlyList<string> names, TimeSpan validity, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0)
        {
            throw new ArgumentException("at least one server name is needed", nameof(names));
        }

        Directory.CreateDirectory(directory);
        DateTimeOffset notBefore = now.AddHours(-1);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Tempus private NTS CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using X509Certificate2 ca = caRequest.CreateSelfSigned(notBefore, now + validity + TimeSpan.FromDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={names[0]}"), serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string name in names)
        {
            if (IPAddress.TryParse(name, out IPAddress? address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using X509Certificate2 server = request.Create(ca, notBefore, now + validity, serial);

        string caFile = Path.Combine(directory, "ca.crt");
        string certFile = Path.Combine(directory, "server.crt");
        string keyFile = Path.Combine(directory, "server.key");
        File.WriteAllText(caFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(certFile, server.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n");
        KeyGenerator.WriteKeyFile(keyFile, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        return new Files(caFile, new TlsCertificateKeyPair(certFile, keyFile));
    }
}
