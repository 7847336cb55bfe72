using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Tempus.Tls;

namespace Tempus.Tests.Tls;

/// <summary>
/// A throw-away PKI in a temporary directory, made with .NET's CertificateRequest (no external process):
/// a CA, a second unrelated CA, and server certificates for localhost/127.0.0.1 that are valid, expired
/// or not yet valid, plus one for another name (SNI selection). PEM files, as ntsservercert/ntsserverkey
/// and ntstrustedcerts take them.
/// </summary>
public sealed class TestPki : IDisposable
{
    public TestPki()
    {
        Directory = Path.Combine(Path.GetTempPath(), "tempus-tls-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        DateTimeOffset now = DateTimeOffset.UtcNow;

        using X509Certificate2 ca = CreateCa("CN=Tempus Test CA", now);
        using X509Certificate2 otherCa = CreateCa("CN=Some Other CA", now);
        CaFile = WriteCertificate("ca.crt", ca);
        OtherCaFile = WriteCertificate("other-ca.crt", otherCa);

        ValidFrom = Truncate(now.AddDays(-1));
        ValidUntil = Truncate(now.AddDays(90));
        Localhost = CreateServer("localhost", ca, ValidFrom, ValidUntil, ["localhost"], [IPAddress.Loopback]);
        ExpiredUntil = Truncate(now.AddDays(-30));
        Expired = CreateServer("expired", ca, now.AddDays(-400), ExpiredUntil, ["localhost"], [IPAddress.Loopback]);
        NotYetValidFrom = Truncate(now.AddDays(30));
        NotYetValid = CreateServer("future", ca, NotYetValidFrom, now.AddDays(400), ["localhost"], [IPAddress.Loopback]);
        OtherName = CreateServer("ntp.other.example", ca, ValidFrom, ValidUntil, ["ntp.other.example"], []);
    }

    public string Directory { get; }

    /// <summary>The CA that signed every server certificate here.</summary>
    public string CaFile { get; }

    /// <summary>A CA that signed nothing here.</summary>
    public string OtherCaFile { get; }

    public DateTimeOffset ValidFrom { get; }

    public DateTimeOffset ValidUntil { get; }

    public DateTimeOffset ExpiredUntil { get; }

    public DateTimeOffset NotYetValidFrom { get; }

    /// <summary>CN=localhost, SAN DNS:localhost and IP:127.0.0.1, valid now.</summary>
    public TlsCertificateKeyPair Localhost { get; }

    /// <summary>Same names, expired 30 days ago.</summary>
    public TlsCertificateKeyPair Expired { get; }

    /// <summary>Same names, valid from 30 days on.</summary>
    public TlsCertificateKeyPair NotYetValid { get; }

    /// <summary>CN and SAN DNS:ntp.other.example only.</summary>
    public TlsCertificateKeyPair OtherName { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static DateTimeOffset Truncate(DateTimeOffset time) => new(time.Year, time.Month, time.Day, time.Hour, time.Minute, time.Second, TimeSpan.Zero);

    private static X509Certificate2 CreateCa(string subject, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddYears(-5), now.AddYears(5));
    }

    private TlsCertificateKeyPair CreateServer(
        string name, X509Certificate2 ca, DateTimeOffset notBefore, DateTimeOffset notAfter, string[] dnsNames, IPAddress[] addresses)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={(dnsNames.Length > 0 ? dnsNames[0] : name)}, O=Tempus Tests", key, HashAlgorithmName.SHA256);
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
        using X509Certificate2 cert = request.Create(ca, notBefore, notAfter, serial);
        string certFile = WriteCertificate(name + ".crt", cert);
        string keyFile = Path.Combine(Directory, name + ".key");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new TlsCertificateKeyPair(certFile, keyFile);
    }

    private string WriteCertificate(string fileName, X509Certificate2 cert)
    {
        string path = Path.Combine(Directory, fileName);
        File.WriteAllText(path, cert.ExportCertificatePem());
        return path;
    }
}
