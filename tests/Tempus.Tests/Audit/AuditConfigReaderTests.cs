using Tempus.Audit;
using Tempus.Selection;

namespace Tempus.Tests.Audit;

/// <summary>The lenient chrony.conf and ntp.conf readers, the Tempus adapter, and dialect detection.</summary>
public sealed class AuditConfigReaderTests : IDisposable
{
    private readonly AuditFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData("/etc/chrony/chrony.conf", "server a\n", ConfigDialect.Chrony)]
    [InlineData("/etc/chrony.conf", "server a\n", ConfigDialect.Chrony)]
    [InlineData("/etc/ntp.conf", "server a\n", ConfigDialect.Ntp)]
    [InlineData("/etc/ntpsec/ntp.conf", "server a\n", ConfigDialect.Ntp)]
    [InlineData("/etc/tempus/tempus.conf", "server a\n", ConfigDialect.Tempus)]
    [InlineData("/tmp/x.conf", "server a key 1\nkeys /etc/ntp.keys\nrestrict default kod\n", ConfigDialect.Ntp)]
    [InlineData("/tmp/x.conf", "server a\nmakestep 1 3\nkeyfile /etc/chrony.keys\n", ConfigDialect.Chrony)]
    [InlineData("/tmp/x.conf", "server a\nmakestep 1 3\nserverworkers 2\n", ConfigDialect.Tempus)]
    [InlineData("/tmp/x.conf", "server a\nrestrict default kod\nmakestep 1 3\n", ConfigDialect.Chrony)]
    [InlineData("/tmp/x.conf", "server a iburst\n", ConfigDialect.Tempus)]
    [InlineData("/tmp/tempus-audit-1/ntp.conf", "server a\n", ConfigDialect.Ntp)]
    [InlineData("/etc/tempus/chrony.conf", "server a\n", ConfigDialect.Chrony)]
    [InlineData("/etc/chrony/x.conf", "server a\n", ConfigDialect.Chrony)]
    public void TheDialectComesFromTheNameThenFromDirectivesOnlyOneLanguageHas(string path, string text, ConfigDialect expected) =>
        Assert.Equal(expected, AuditConfigReader.Detect(path, text));

    [Fact]
    public void ChronySourceLinesKeepTheirOptionsAndLocations()
    {
        AuditInput input = _files.Read("chrony.conf", "# comment\n! also\nserver ntp1.example iburst nts ntsport 4461 certset 2 port 1123 prefer\npool pool.example maxsources 6 key 5 minpoll 4 noselect\npeer peer.example trust require\nrefclock PHC /dev/ptp0 poll 0 prefer\n");
        Assert.Equal(ConfigDialect.Chrony, input.Dialect);
        Assert.Equal(4, input.Sources.Count);
        AuditSource nts = input.Sources[0];
        Assert.Equal((AuditSourceKind.Server, "ntp1.example", 1123, 4461, 2, true), (nts.Kind, nts.Host, nts.Port, nts.NtsPort, nts.CertSet, nts.Nts));
        Assert.Equal(SourceSelectOptions.Prefer, nts.Options);
        Assert.Equal(SourceAuthentication.Nts, nts.Authentication);
        Assert.EndsWith("chrony.conf:3", nts.Location, StringComparison.Ordinal);
        AuditSource pool = input.Sources[1];
        Assert.Equal((AuditSourceKind.Pool, 6, 5u, SourceSelectOptions.NoSelect), (pool.Kind, pool.MaxSources, pool.KeyId!.Value, pool.Options));
        Assert.Equal("pool pool.example", pool.DisplayName);
        Assert.Equal(SourceSelectOptions.Trust | SourceSelectOptions.Require, input.Sources[2].Options);
        Assert.Equal(AuditSourceKind.Refclock, input.Sources[3].Kind);
        Assert.Equal(AuthSelectMode.Mix, input.AuthSelectMode);
    }

    [Fact]
    public void ChronyDirectivesTheAuditNeedsAreRead()
    {
        AuditInput input = _files.Read("chrony.conf", "keyfile keys/chrony.keys\nauthselectmode require\nntsdumpdir /var/lib/chrony\nmakestep 1.0 3\nnocerttimecheck 2\nntstrustedcerts /etc/ca.pem\nntstrustedcerts 1 /etc/other\nnosystemcert\nallow all\nratelimit interval 1 burst 16\nuser _chrony\n");
        Assert.Equal(Path.Combine(_files.Directory, "keys/chrony.keys"), input.KeyFile);
        Assert.Equal(AuthSelectMode.Require, input.AuthSelectMode);
        Assert.Contains("chrony.conf:2", input.AuthSelectModeOrigin, StringComparison.Ordinal);
        Assert.Equal("/var/lib/chrony", input.NtsDumpDirectory);
        Assert.True(input.MakeStep);
        Assert.Equal(2, input.NoCertTimeCheckUpdates);
        Assert.Equal(["/etc/ca.pem"], input.NtsTrustedCertificates[0]);
        Assert.Equal(["/etc/other"], input.NtsTrustedCertificates[1]);
        Assert.True(input.NoSystemCertificates);
        Assert.True(input.ServesNtp && input.ServesEveryone && input.RateLimit);
        Assert.Equal("_chrony", input.User);
        Assert.Empty(input.ReadFindings);
    }

    [Fact]
    public void ChronyIncludesConfdirAndSourcedirAreFollowed()
    {
        _files.Write("conf.d/10-nts.conf", "server included.example nts\n");
        _files.Write("sources.d/dhcp.sources", "server dhcp.example iburst\n");
        _files.Write("extra/makestep.conf", "makestep 1 3\n");
        AuditInput input = _files.Read("chrony.conf", $"confdir {_files.Directory}/conf.d\nsourcedir {_files.Directory}/sources.d\ninclude {_files.Directory}/extra/*.conf\ninclude {_files.Directory}/chrony.conf\n");
        Assert.Equal(["included.example", "dhcp.example"], input.Sources.Select(s => s.Host));
        Assert.EndsWith("10-nts.conf:1", input.Sources[0].Location, StringComparison.Ordinal);
        Assert.True(input.MakeStep);
    }

    [Fact]
    public void ABadLineIsSkippedWithItsFileAndLineAndTheRestIsRead()
    {
        AuditInput input = _files.Read("chrony.conf", "server a key notanumber\nauthselectmode sometimes\nserver b nts\nfrobnicate\nallow 999.1.1.1\n\0garbage\n");
        Assert.Equal(["b"], input.Sources.Select(s => s.Host));
        Assert.Equal(4, input.ReadFindings.Count);
        Assert.All(input.ReadFindings, f => Assert.Equal(AuditCodes.ConfigLineIgnored, f.Code));
        Assert.Contains("chrony.conf:1: server: bad key id 'notanumber'", input.ReadFindings[0].Message, StringComparison.Ordinal);
        Assert.Contains("chrony.conf:2", input.ReadFindings[1].Message, StringComparison.Ordinal);
        Assert.Contains("chrony.conf:5", input.ReadFindings[2].Message, StringComparison.Ordinal);
        Assert.Contains("chrony.conf:6", input.ReadFindings[3].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NtpConfSourcesKeysRestrictAndNtsLinesAreRead()
    {
        AuditInput input = _files.Read("ntp.conf", "driftfile /var/lib/ntp/drift # comment\nkeys /etc/ntp.keys\ntrustedkey 1 3-5 (8 ... 9)\nserver -4 a.example key 3 iburst prefer\nserver nts.example:4461 nts ca /etc/ntpsec/ca.pem\npool pool.example iburst true\npeer 10.0.0.2 noselect\nserver 127.127.1.0\nrestrict default kod limited nomodify noquery\nrestrict 10.0.0.2 notrust\nnts ca /etc/ssl/ca.pem\ntinker panic 0\n");
        Assert.Equal(ConfigDialect.Ntp, input.Dialect);
        Assert.Equal("/etc/ntp.keys", input.KeyFile);
        Assert.Equal(new HashSet<uint> { 1, 3, 4, 5, 8, 9 }, input.TrustedKeys);
        Assert.Equal(5, input.Sources.Count);
        Assert.Equal(("a.example", 3u, SourceSelectOptions.Prefer), (input.Sources[0].Host, input.Sources[0].KeyId!.Value, input.Sources[0].Options));
        Assert.Equal(("nts.example", 4461, true, "/etc/ntpsec/ca.pem"), (input.Sources[1].Host, input.Sources[1].NtsPort, input.Sources[1].Nts, input.Sources[1].CaFile));
        Assert.Equal(SourceSelectOptions.Trust, input.Sources[2].Options);
        Assert.True(input.Sources[3].AuthenticationRequired);
        Assert.False(input.Sources[2].AuthenticationRequired);
        Assert.Equal(AuditSourceKind.Refclock, input.Sources[4].Kind);
        Assert.Equal(["/etc/ssl/ca.pem"], input.NtsTrustedCertificates[0]);
        Assert.True(input.MakeStep);
        Assert.True(input.ServesNtp && input.RateLimit);
        Assert.Equal(AuthSelectMode.Ignore, input.AuthSelectMode);
    }

    [Fact]
    public void TrustedKeyRangesAreBounded()
    {
        string ranges = string.Join(' ', Enumerable.Range(0, 20).Select(i => $"{i * 70000 + 1}-{i * 70000 + 65535}"));
        AuditInput input = _files.Read("ntp.conf", $"trustedkey {ranges}\n");
        AuditFinding skipped = Assert.Single(input.ReadFindings);
        Assert.Contains("more than 1048576 trusted key ids", skipped.Message, StringComparison.Ordinal);
        Assert.True(input.TrustedKeys!.Count <= AuditConfigReader.MaxTrustedKeys);
    }

    [Fact]
    public void AnNtpConfIncludefileIsFollowed()
    {
        _files.Write("ntp.d/servers", "server inc.example nts\n");
        AuditInput input = _files.Read("ntp.conf", "includefile ntp.d/servers\n");
        Assert.Equal("inc.example", Assert.Single(input.Sources).Host);
    }

    [Fact]
    public void IncludeRecursionStops()
    {
        _files.Write("a.conf", "include b.conf\nserver a.example\n");
        _files.Write("b.conf", "include a.conf\nserver b.example\n");
        AuditInput input = AuditConfigReader.Read(Path.Combine(_files.Directory, "a.conf"), ConfigDialect.Chrony);
        Assert.Equal(["b.example", "a.example"], input.Sources.Select(s => s.Host));
    }

    [Fact]
    public void ATempusConfigIsReadByTheTempusParser()
    {
        AuditInput input = _files.Read("tempus.conf", "server a.example nts\npool p.example maxsources 2\nauthselectmode require\nmakestep 1 3\nntsdumpdir /var/lib/tempus\nallow 10.0.0.0/8\n");
        Assert.Equal(ConfigDialect.Tempus, input.Dialect);
        Assert.Empty(input.ReadFindings);
        Assert.Equal(["a.example", "p.example"], input.Sources.Select(s => s.Host));
        Assert.Equal(2, input.Sources[1].MaxSources);
        Assert.Equal(AuthSelectMode.Require, input.AuthSelectMode);
        Assert.True(input.MakeStep);
        Assert.True(input.ServesNtp);
        Assert.False(input.ServesEveryone);
    }

    [Fact]
    public void AChronyDirectiveTempusIgnoresIsAnInfoNote()
    {
        AuditInput input = _files.Read("tempus.conf", "server a.example nts\ndscp 46\n");
        AuditFinding note = Assert.Single(input.ReadFindings);
        Assert.Equal((AuditSeverity.Info, AuditCodes.ConfigLineIgnored), (note.Severity, note.Code));
        Assert.Contains("tempus.conf:2", note.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileLargerThanTheLimitIsRefused()
    {
        string path = _files.Write("huge.conf", new string('#', global::Tempus.Config.ConfigParser.MaxFileSize + 1));
        Assert.Throws<IOException>(() => AuditConfigReader.Read(path, ConfigDialect.Chrony));
    }
}
