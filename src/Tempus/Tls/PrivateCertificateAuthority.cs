using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tempus.Auth;

namespace Tempus.Tls;

/// <summary>
/// A private CA (ECDSA P-256) that issues NTS-KE server certificates as PEM files, for NTS on a private network
/// or a lab where no public CA issues certificates: clients trust the CA with <c>ntstrustedcerts</c>, the server
/// uses a pair with <c>ntsservercert</c>/<c>ntsserverkey</c>. <c>tempusctl ntscert</c> and the tests' PKIs use it.
/// </summary>
public sealed class PrivateCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;
    private readonly X509Certificate2 _certificate;

    private PrivateCertificateAuthority(ECDsa key, X509Certificate2 certificate)
    {
        _key = key;
        _certificate = certificate;
    }

    /// <summary>The files written by <see cref="Create(string, IReadOnlyList{string}, TimeSpan, DateTimeOffset)"/>.</summary>
    /// <param name="CaCertificateFile">The CA certificate, for the clients' <c>ntstrustedcerts</c>.</param>
    /// <param name="Server">The server certificate chain and its private key (mode 0600).</param>
    public sealed record Files(string CaCertificateFile, TlsCertificateKeyPair Server);

    /// <summary>The CA certificate's subject.</summary>
    public string Subject => _certificate.Subject;

    /// <summary>Creates a CA valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>; its key lives in memory only.</summary>
    public static PrivateCertificateAuthority Create(string subject, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return new PrivateCertificateAuthority(key, request.CreateSelfSigned(notBefore, notAfter));
    }

    /// <summary>
    /// Makes a new CA and one server certificate in <paramref name="directory"/>: <c>ca.crt</c>, <c>server.crt</c>
    /// and <c>server.key</c> (0600). The CA's private key is not kept: nothing else can be signed by it.
    /// </summary>
    /// <param name="directory">Where to write; created if missing.</param>
    /// <param name="names">Host names and addresses the server is reached by; the first is the CN.</param>
    /// <param name="validity">How long the server certificate is valid from now.</param>
    /// <param name="now">The current time (certificates start an hour earlier to tolerate small clock errors).</param>
    public static Files Create(string directory, IReadOnlyList<string> names, TimeSpan validity, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0)
        {
            throw new ArgumentException("at least one server name is needed", nameof(names));
        }

        using PrivateCertificateAuthority ca = Create("CN=Tempus private NTS CA", now.AddHours(-1), now + validity + TimeSpan.FromDays(1));
        string caFile = ca.WriteCertificate(Path.Combine(directory, "ca.crt"));
        TlsCertificateKeyPair server = ca.IssueServerCertificate(directory, "server", $"CN={names[0]}", names, now.AddHours(-1), now + validity);
        return new Files(caFile, server);
    }

    /// <summary>Writes the CA certificate as PEM to <paramref name="path"/> (creating its directory) and returns the path.</summary>
    public string WriteCertificate(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, _certificate.ExportCertificatePem() + "\n");
        return path;
    }

    /// <summary>
    /// Issues a TLS server certificate: writes <c>NAME.crt</c> (the certificate) and
    /// <c>NAME.key</c> (PKCS#8 PEM, 0600) into <paramref name="directory"/>. Names that parse as IP addresses become
    /// IP subjectAltNames, the rest DNS names.
    /// </summary>
    public TlsCertificateKeyPair IssueServerCertificate(string directory, string fileBaseName, string subject, IReadOnlyList<string> names, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        ArgumentNullException.ThrowIfNull(names);
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (names.Count > 0)
        {
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
        }

        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, true, false));
        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using X509Certificate2 certificate = request.Create(_certificate, notBefore, notAfter, serial);

        string certFile = Path.Combine(directory, fileBaseName + ".crt");
        string keyFile = Path.Combine(directory, fileBaseName + ".key");
        // Only the leaf: a root is never sent in the chain (clients must already trust it), and sending it turns
        // "unable to get local issuer certificate" into "self-signed certificate in chain" for clients that don't.
        File.WriteAllText(certFile, certificate.ExportCertificatePem() + "\n");
        KeyGenerator.WriteKeyFile(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        return new TlsCertificateKeyPair(certFile, keyFile);
    }

    /// <summary>Disposes the CA's key and certificate.</summary>
    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
    }
}
