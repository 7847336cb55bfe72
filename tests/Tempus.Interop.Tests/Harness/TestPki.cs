using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tempus.Interop.Tests.Harness;

// A PEM certificate file and its private key file, as ntsservercert/ntsserverkey, `nts cert`/`nts key`
// and gnutls-cli take them.
public sealed record PemPair(string CertificateFile, string KeyFile);

// A throw-away PKI for the NTS tests, made with .NET's CertificateRequest (no openssl process), copied
// from tests/Tempus.Tests/Tls/TestPki.cs: a CA, an unrelated CA, and server certificates for
// localhost/127.0.0.1 that are valid or expired, plus one for another name. Keys are P-256 ECDSA in
// PKCS#8 PEM, mode 0600 (chronyd and ntpd run as root here and read them).
public sealed class TestPki : IDisposable
{
    private readonly TempDirectory _directory = new("pki");

    public TestPki()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ca = CreateCa("CN=Tempus Interop Test CA", now);
        using X509Certificate2 otherCa = CreateCa("CN=Some Other CA", now);
        CaFile = WriteCertificate("ca.crt", ca);
        OtherCaFile = WriteCertificate("other-ca.crt", otherCa);

        Localhost = CreateServer("localhost", ca, now.AddDays(-1), now.AddDays(90), ["localhost"], [IPAddress.Loopback]);
        Expired = CreateServer("expired", ca, now.AddDays(-400), now.AddDays(-30), ["localhost"], [IPAddress.Loopback]);
        OtherName = CreateServer("ntp.other.example", ca, now.AddDays(-1), now.AddDays(90), ["ntp.other.example"], []);
    }

    public string Directory => _directory.FullPath;

    // The CA that signed every server certificate here.
    public string CaFile { get; }

    // A CA that signed nothing here.
    public string OtherCaFile { get; }

    // CN=localhost, SAN DNS:localhost and IP:127.0.0.1, valid now.
    public PemPair Localhost { get; }

    // Same names, expired 30 days ago.
    public PemPair Expired { get; }

    // CN and SAN DNS:ntp.other.example only.
    public PemPair OtherName { get; }

    public void Dispose() => _directory.Dispose();

    private static X509Certificate2 CreateCa(string subject, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddYears(-5), now.AddYears(5));
    }

    private PemPair CreateServer(
        string name, X509Certificate2 ca, DateTimeOffset notBefore, DateTimeOffset notAfter, string[] dnsNames, IPAddress[] addresses)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames[0]}, O=Tempus Interop Tests", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (string dns in dnsNames)
        {
            san.AddDnsName(dns);
        }

        foreach (IPAddress address in addresses)
        {
            san.AddIpAddress(address);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));

        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using X509Certificate2 certificate = request.Create(ca, notBefore, notAfter, serial);
        string certificateFile = WriteCertificate(name + ".crt", certificate);
        string keyFile = _directory.WriteFile(name + ".key", key.ExportPkcs8PrivateKeyPem());
        return new PemPair(certificateFile, keyFile);
    }

    private string WriteCertificate(string fileName, X509Certificate2 certificate) =>
        _directory.WriteFile(fileName, certificate.ExportCertificatePem());
}
