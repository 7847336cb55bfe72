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

        using var ca = PrivateCertificateAuthority.Create("CN=Tempus Test CA", now.AddYears(-5), now.AddYears(5));
        using var otherCa = PrivateCertificateAuthority.Create("CN=Some Other CA", now.AddYears(-5), now.AddYears(5));
        CaFile = ca.WriteCertificate(Path.Combine(Directory, "ca.crt"));
        OtherCaFile = otherCa.WriteCertificate(Path.Combine(Directory, "other-ca.crt"));

        ValidFrom = Truncate(now.AddDays(-1));
        ValidUntil = Truncate(now.AddDays(90));
        Localhost = Issue(ca, "localhost", "localhost", ValidFrom, ValidUntil, "localhost", "127.0.0.1");
        ExpiredUntil = Truncate(now.AddDays(-30));
        Expired = Issue(ca, "expired", "localhost", now.AddDays(-400), ExpiredUntil, "localhost", "127.0.0.1");
        NotYetValidFrom = Truncate(now.AddDays(30));
        NotYetValid = Issue(ca, "future", "localhost", NotYetValidFrom, now.AddDays(400), "localhost", "127.0.0.1");
        OtherName = Issue(ca, "ntp.other.example", "ntp.other.example", ValidFrom, ValidUntil, "ntp.other.example");
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

    private TlsCertificateKeyPair Issue(PrivateCertificateAuthority ca, string file, string commonName, DateTimeOffset notBefore, DateTimeOffset notAfter, params string[] names) =>
        ca.IssueServerCertificate(Directory, file, $"CN={commonName}, O=Tempus Tests", names, notBefore, notAfter);
}
