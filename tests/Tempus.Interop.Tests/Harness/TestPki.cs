using Tempus.Tls;

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
        using var ca = PrivateCertificateAuthority.Create("CN=Tempus Interop Test CA", now.AddYears(-5), now.AddYears(5));
        using var otherCa = PrivateCertificateAuthority.Create("CN=Some Other CA", now.AddYears(-5), now.AddYears(5));
        CaFile = ca.WriteCertificate(Path.Combine(Directory, "ca.crt"));
        OtherCaFile = otherCa.WriteCertificate(Path.Combine(Directory, "other-ca.crt"));

        Localhost = Issue(ca, "localhost", now.AddDays(-1), now.AddDays(90), "localhost", "127.0.0.1");
        Expired = Issue(ca, "expired", now.AddDays(-400), now.AddDays(-30), "localhost", "127.0.0.1");
        OtherName = Issue(ca, "ntp.other.example", now.AddDays(-1), now.AddDays(90), "ntp.other.example");
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

    private PemPair Issue(PrivateCertificateAuthority ca, string file, DateTimeOffset notBefore, DateTimeOffset notAfter, params string[] names)
    {
        TlsCertificateKeyPair pair = ca.IssueServerCertificate(Directory, file, $"CN={names[0]}, O=Tempus Interop Tests", names, notBefore, notAfter);
        return new PemPair(pair.CertificateChainFile, pair.PrivateKeyFile);
    }
}
