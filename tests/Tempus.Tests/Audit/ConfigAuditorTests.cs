using Tempus.Audit;
using Tempus.Selection;

namespace Tempus.Tests.Audit;

/// <summary>Every configuration finding, found when it applies and absent when it does not.</summary>
public sealed class ConfigAuditorTests : IDisposable
{
    // A clean chrony client: three NTS servers, saved cookies, makestep, require.
    private const string CleanChrony = "server a.example nts iburst\nserver b.example nts iburst\nserver c.example nts iburst\nntsdumpdir /var/lib/chrony\nmakestep 1 3\nauthselectmode require\n";

    private static readonly FileOwnership s_rootOnly = new(0, 0, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    private static readonly FileOwnership s_daemonGroup = new(0, 101, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

    private readonly AuditFiles _files = new();

    public void Dispose() => _files.Dispose();

    private IReadOnlyList<AuditFinding> Chrony(string text, AuditEnvironment? environment = null) =>
        ConfigAuditor.Audit(_files.Read("chrony.conf", text), environment ?? AuditFiles.Machine(keyFileOwnership: s_daemonGroup));

    private IReadOnlyList<AuditFinding> Ntp(string text, AuditEnvironment? environment = null) =>
        ConfigAuditor.Audit(_files.Read("ntp.conf", text), environment ?? AuditFiles.Machine(keyFileOwnership: s_rootOnly));

    private IReadOnlyList<AuditFinding> Tempus(string text) =>
        ConfigAuditor.Audit(_files.Read("tempus.conf", text), AuditFiles.Machine(keyFileOwnership: s_rootOnly));

    private static AuditFinding Single(IReadOnlyList<AuditFinding> findings, string code) =>
        Assert.Single(findings, f => f.Code == code);

    private static void None(IReadOnlyList<AuditFinding> findings, string code) =>
        Assert.DoesNotContain(findings, f => f.Code == code);

    [Fact]
    public void ACleanChronyClientHasOnlyInfoFindings()
    {
        IReadOnlyList<AuditFinding> findings = Chrony(CleanChrony);
        Assert.All(findings, f => Assert.Equal(AuditSeverity.Info, f.Severity));
        Assert.Equal(3, findings.Count(f => f.Code == AuditCodes.SourceNts));
        Assert.Equal(0, AuditFinding.ExitCode(findings));
    }

    [Fact]
    public void TheSeedChronyConfFlagsTheLeftoverPoolAsAbleToSteerTheClock()
    {
        IReadOnlyList<AuditFinding> findings = Chrony("server time.cloudflare.com iburst nts\nserver nts.netnod.se iburst nts\npool 2.debian.pool.ntp.org iburst\nntsdumpdir /var/lib/chrony\nmakestep 1 3\n");

        AuditFinding pool = Single(findings, AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Equal(AuditSeverity.Failure, pool.Severity);
        Assert.Equal("pool 2.debian.pool.ntp.org", pool.Source);
        Assert.Contains("can steer the clock", pool.Message, StringComparison.Ordinal);
        Assert.Contains("chrony.conf:3", pool.Message, StringComparison.Ordinal);
        Assert.Contains("mix", pool.Message, StringComparison.Ordinal);
        Assert.Contains("remove the 'pool 2.debian.pool.ntp.org' line", pool.Fix, StringComparison.Ordinal);
        Assert.Contains("'nts'", pool.Fix, StringComparison.Ordinal);
        Assert.Contains("authselectmode require", pool.Fix, StringComparison.Ordinal);
        Assert.Equal(2, findings.Count(f => f.Code == AuditCodes.SourceNts));
        Assert.Equal(2, AuditFinding.ExitCode(findings));
    }

    [Fact]
    public void TheSeedNtpConfFlagsTheLeftoverPoolAndSaysNtpdHasNoAuthSelectMode()
    {
        IReadOnlyList<AuditFinding> findings = Ntp("server time.cloudflare.com nts iburst\nserver nts.netnod.se nts iburst\npool 2.debian.pool.ntp.org iburst\nrestrict default kod limited nomodify noquery\n");

        AuditFinding pool = Single(findings, AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Equal("pool 2.debian.pool.ntp.org", pool.Source);
        Assert.Contains("no authselectmode", pool.Message, StringComparison.Ordinal);
        Assert.Contains("restrict 2.debian.pool.ntp.org notrust", pool.Fix, StringComparison.Ordinal);
        Assert.Equal(AuditSeverity.Warning, Single(findings, AuditCodes.AuthSelectModeWeak).Severity);
        Assert.Equal(AuditSeverity.Info, Single(findings, AuditCodes.NtsDumpDirMissing).Severity);
    }

    [Fact]
    public void InATempusConfigTheDefaultPreferKeepsTheLeftoverPoolFromSteering()
    {
        IReadOnlyList<AuditFinding> findings = Tempus("server time.cloudflare.com iburst nts\nserver nts.netnod.se iburst nts\npool 2.debian.pool.ntp.org iburst\nntsdumpdir /var/lib/tempus\nmakestep 1 3\n");

        None(findings, AuditCodes.ConfigError);
        None(findings, AuditCodes.UnauthenticatedSourceCanSteer);
        AuditFinding pool = Single(findings, AuditCodes.UnauthenticatedSource);
        Assert.Equal("pool 2.debian.pool.ntp.org", pool.Source);
        Assert.Contains("prefer", pool.Message, StringComparison.Ordinal);
        None(findings, AuditCodes.AuthSelectModeWeak);
    }

    [Fact]
    public void InATempusConfigWithAuthSelectModeMixTheLeftoverPoolCanSteer()
    {
        IReadOnlyList<AuditFinding> findings = Tempus("server time.cloudflare.com iburst nts\nserver nts.netnod.se iburst nts\npool 2.debian.pool.ntp.org iburst\nauthselectmode mix\nntsdumpdir /var/lib/tempus\nmakestep 1 3\n");

        AuditFinding pool = Single(findings, AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Equal("pool 2.debian.pool.ntp.org", pool.Source);
        Assert.Contains("authselectmode require", pool.Fix, StringComparison.Ordinal);
        Assert.Equal(AuditSeverity.Warning, Single(findings, AuditCodes.AuthSelectModeWeak).Severity);
    }

    [Fact]
    public void ATempusConfigWithOnlyPlainSourcesLetsThemSteerUnderPrefer()
    {
        IReadOnlyList<AuditFinding> findings = Tempus("server a.example\nserver b.example\nserver c.example\nmakestep 1 3\n");
        Assert.Equal(3, findings.Count(f => f.Code == AuditCodes.UnauthenticatedSourceCanSteer));
        Assert.Contains("add authenticated sources", findings.First(f => f.Code == AuditCodes.UnauthenticatedSourceCanSteer).Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void ATempusConfigWithErrorsIsAFailureNamingTheLine()
    {
        IReadOnlyList<AuditFinding> findings = Tempus("server a.example nts\nfrobnicate 3\n");
        AuditFinding error = Single(findings, AuditCodes.ConfigError);
        Assert.Equal(AuditSeverity.Failure, error.Severity);
        Assert.Contains("tempus.conf:2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("require")]
    [InlineData("prefer")]
    public void WithAuthSelectModeRequireOrPreferAPlainPoolBesideNtsCannotSteer(string mode)
    {
        IReadOnlyList<AuditFinding> findings = Chrony(CleanChrony.Replace("authselectmode require", $"authselectmode {mode}") + "pool pool.ntp.org iburst\n");
        None(findings, AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Equal(AuditSeverity.Info, Single(findings, AuditCodes.UnauthenticatedSource).Severity);
    }

    [Fact]
    public void ANoselectPlainSourceCannotSteer()
    {
        IReadOnlyList<AuditFinding> findings = Chrony(CleanChrony.Replace("authselectmode require", "authselectmode ignore") + "server monitor.example noselect\n");
        None(findings, AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Contains("noselect", Single(findings, AuditCodes.UnauthenticatedSource).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NtpdRestrictNotrustKeepsPlainSourcesFromSteering()
    {
        IReadOnlyList<AuditFinding> perHost = Ntp("server a nts\nserver b nts\nserver c nts\nserver plain.example\nrestrict default limited kod\nrestrict plain.example notrust\n");
        None(perHost, AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Contains("notrust", Single(perHost, AuditCodes.UnauthenticatedSource).Message, StringComparison.Ordinal);

        IReadOnlyList<AuditFinding> byDefault = Ntp("server a nts\nserver b nts\nserver c nts\npool pool.ntp.org\nrestrict default notrust limited kod\n");
        None(byDefault, AuditCodes.UnauthenticatedSourceCanSteer);
        None(byDefault, AuditCodes.AuthSelectModeWeak);
    }

    [Theory]
    [InlineData("mix")]
    [InlineData("ignore")]
    public void AuthSelectModeMixOrIgnoreIsAWarning(string mode)
    {
        AuditFinding finding = Single(Chrony(CleanChrony.Replace("authselectmode require", $"authselectmode {mode}")), AuditCodes.AuthSelectModeWeak);
        Assert.Equal(AuditSeverity.Warning, finding.Severity);
        Assert.Contains($"authselectmode {mode}", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChronysDefaultModeIsMixAndSaysSo()
    {
        AuditFinding finding = Single(Chrony(CleanChrony.Replace("authselectmode require\n", "")), AuditCodes.AuthSelectModeWeak);
        Assert.Contains("chrony's default", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FewerThanThreeSelectableSourcesIsAWarningAndAPoolCountsAsItsMaxSources()
    {
        AuditFinding two = Single(Chrony(CleanChrony.Replace("server c.example nts iburst\n", "")), AuditCodes.TooFewSources);
        Assert.Equal(AuditSeverity.Warning, two.Severity);
        Assert.Contains("only 2 sources", two.Message, StringComparison.Ordinal);

        None(Chrony(CleanChrony), AuditCodes.TooFewSources);
        None(Chrony("pool pool.example nts maxsources 3\nntsdumpdir /var/lib/chrony\nmakestep 1 3\nauthselectmode require\n"), AuditCodes.TooFewSources);
        Assert.Contains("only 2", Single(Chrony("pool pool.example nts maxsources 2\nntsdumpdir /var/lib/chrony\nmakestep 1 3\n"), AuditCodes.TooFewSources).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SourcesThatRequireExcludesDoNotCountAndNoSelectableSourceIsAFailure()
    {
        AuditFinding none = Single(Chrony("server a.example\nserver b.example\nserver c.example\nauthselectmode require\nmakestep 1 3\n"), AuditCodes.TooFewSources);
        Assert.Equal(AuditSeverity.Failure, none.Severity);
        Assert.Contains("never synchronized", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoSourceAtAllIsAFailure()
    {
        Assert.Equal(AuditSeverity.Failure, Single(Chrony("makestep 1 3\n"), AuditCodes.NoSources).Severity);
        None(Chrony(CleanChrony), AuditCodes.NoSources);
    }

    [Fact]
    public void MissingMakeStepIsAWarning()
    {
        Assert.Equal(AuditSeverity.Warning, Single(Chrony(CleanChrony.Replace("makestep 1 3\n", "")), AuditCodes.MakeStepMissing).Severity);
        None(Chrony(CleanChrony), AuditCodes.MakeStepMissing);
    }

    [Fact]
    public void NtpdStepsByDefaultUnlessTinkerStepIsZero()
    {
        None(Ntp("server a key 1\nkeys /nonexistent\n"), AuditCodes.MakeStepMissing);
        Assert.Contains("tinker step 0", Single(Ntp("server a key 1\ntinker step 0\n"), AuditCodes.MakeStepMissing).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoNtsDumpDirIsAWarningWhenNtsIsUsed()
    {
        Assert.Equal(AuditSeverity.Warning, Single(Chrony(CleanChrony.Replace("ntsdumpdir /var/lib/chrony\n", "")), AuditCodes.NtsDumpDirMissing).Severity);
        None(Chrony(CleanChrony), AuditCodes.NtsDumpDirMissing);
        None(Chrony("server a key 1\nserver b key 1\nserver c key 1\nmakestep 1 3\n"), AuditCodes.NtsDumpDirMissing);
    }

    [Fact]
    public void AnNtsDumpDirOnTmpfsIsAWarning()
    {
        AuditEnvironment machine = AuditFiles.Machine(mounts: "/dev/sda1 / ext4 rw 0 0\ntmpfs /run tmpfs rw,nosuid 0 0\n");
        AuditFinding tmpfs = Single(Chrony(CleanChrony.Replace("/var/lib/chrony", "/run/chrony"), machine), AuditCodes.NtsDumpDirTmpfs);
        Assert.Equal(AuditSeverity.Warning, tmpfs.Severity);
        Assert.Contains("/run/chrony", tmpfs.Message, StringComparison.Ordinal);
        None(Chrony(CleanChrony, machine), AuditCodes.NtsDumpDirTmpfs);
    }

    [Fact]
    public void TheMountTableFindsTheLongestMountPointAndUnescapesSpaces()
    {
        var machine = new AuditEnvironment { ReadMounts = () => "/dev/sda1 / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n/dev/sdb1 /run/disk\\040one xfs rw 0 0\n" };
        Assert.Equal("tmpfs", machine.FileSystemType("/run/chrony"));
        Assert.Equal("xfs", machine.FileSystemType("/run/disk one/chrony"));
        Assert.Equal("ext4", machine.FileSystemType("/runner/chrony"));
    }

    [Fact]
    public void NoCertTimeCheckIsAWarningThatSaysWhatItTradesAway()
    {
        AuditFinding finding = Single(Chrony(CleanChrony + "nocerttimecheck 1\n"), AuditCodes.NoCertTimeCheck);
        Assert.Equal(AuditSeverity.Warning, finding.Severity);
        Assert.Contains("expired", finding.Message, StringComparison.Ordinal);
        Assert.Contains("impersonate", finding.Message, StringComparison.Ordinal);
        None(Chrony(CleanChrony), AuditCodes.NoCertTimeCheck);
    }

    [Theory]
    [InlineData("allow")]
    [InlineData("allow all")]
    [InlineData("allow 0/0")]
    [InlineData("allow 0.0.0.0/0")]
    [InlineData("allow ::/0")]
    public void AnOpenServerWithoutRateLimitIsAWarning(string allow)
    {
        Assert.Equal(AuditSeverity.Warning, Single(Chrony(CleanChrony + allow + "\n"), AuditCodes.ServerOpenWithoutRateLimit).Severity);
        None(Chrony(CleanChrony + allow + "\nratelimit interval 1 burst 16\n"), AuditCodes.ServerOpenWithoutRateLimit);
    }

    [Theory]
    [InlineData("allow 192.168.0.0/16")]
    [InlineData("allow all\nport 0")]
    [InlineData("allow all\ndeny all")]
    public void AServerForLocalNetworksOrNoServerIsNotOpen(string directives) =>
        None(Chrony(CleanChrony + directives + "\n"), AuditCodes.ServerOpenWithoutRateLimit);

    [Fact]
    public void NtpdServesEveryoneUnlessTheDefaultRestrictIgnoresAndLimitedIsItsRateLimit()
    {
        Assert.Contains("limited", Single(Ntp("server a nts\nrestrict default nomodify\n"), AuditCodes.ServerOpenWithoutRateLimit).Fix, StringComparison.Ordinal);
        None(Ntp("server a nts\nrestrict default kod limited nomodify\n"), AuditCodes.ServerOpenWithoutRateLimit);
        None(Ntp("server a nts\nrestrict default ignore\n"), AuditCodes.ServerOpenWithoutRateLimit);
    }

    [Fact]
    public void AnMd5KeyInUseIsAWarningAndAnAes128KeyIsNot()
    {
        string keys = _files.Write("chrony.keys", "1 MD5 HEX:00112233445566778899AABBCCDDEEFF\n2 AES128 HEX:000102030405060708090A0B0C0D0E0F\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        IReadOnlyList<AuditFinding> md5 = Chrony($"keyfile {keys}\nserver a key 1\nserver b key 1\nserver c key 1\nmakestep 1 3\n");
        AuditFinding finding = md5.First(f => f.Code == AuditCodes.KeyMd5);
        Assert.Equal(AuditSeverity.Warning, finding.Severity);
        Assert.Equal("a", finding.Source);
        Assert.Contains("RFC 8573", finding.Message, StringComparison.Ordinal);

        IReadOnlyList<AuditFinding> aes = Chrony($"keyfile {keys}\nserver a key 2\nserver b key 2\nserver c key 2\nmakestep 1 3\n");
        None(aes, AuditCodes.KeyMd5);
        None(aes, AuditCodes.KeyShort);
        Assert.Equal(3, aes.Count(f => f.Code == AuditCodes.SourceSymmetricKey));
    }

    [Fact]
    public void ASha1KeyIsAnInfoNote()
    {
        string keys = _files.Write("chrony.keys", "5 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n", UnixFileMode.UserRead | UnixFileMode.GroupRead);
        AuditFinding finding = Single(Chrony($"keyfile {keys}\nserver a key 5\nmakestep 1 3\n"), AuditCodes.KeySha1);
        Assert.Equal(AuditSeverity.Info, finding.Severity);
    }

    [Fact]
    public void AKeyShorterThan128BitsIsAWarning()
    {
        string keys = _files.Write("chrony.keys", "3 SHA256 ASCII:secret12\n4 SHA256 HEX:00112233445566778899AABBCCDDEEFF\n", UnixFileMode.UserRead | UnixFileMode.GroupRead);
        AuditFinding finding = Single(Chrony($"keyfile {keys}\nserver a key 3\nmakestep 1 3\n"), AuditCodes.KeyShort);
        Assert.Contains("64 bits", finding.Message, StringComparison.Ordinal);
        None(Chrony($"keyfile {keys}\nserver a key 4\nmakestep 1 3\n"), AuditCodes.KeyShort);
    }

    [Fact]
    public void AServersKeysAreCheckedEvenWhenNoSourceUsesThem()
    {
        string keys = _files.Write("chrony.keys", "9 MD5 ASCII:abcdefghijklmnop\n", UnixFileMode.UserRead | UnixFileMode.GroupRead);
        AuditFinding finding = Single(Chrony(CleanChrony + $"keyfile {keys}\nallow 10.0.0.0/8\n"), AuditCodes.KeyMd5);
        Assert.Null(finding.Source);
        Assert.Contains("clients of this server", finding.Message, StringComparison.Ordinal);
        None(Chrony(CleanChrony + $"keyfile {keys}\n"), AuditCodes.KeyMd5);
    }

    [Fact]
    public void AKeyIdMissingFromTheKeyFileIsAFailure()
    {
        string keys = _files.Write("chrony.keys", "2 AES128 HEX:000102030405060708090A0B0C0D0E0F\n", UnixFileMode.UserRead | UnixFileMode.GroupRead);
        AuditFinding finding = Single(Chrony($"keyfile {keys}\nserver a key 7\nmakestep 1 3\n"), AuditCodes.KeyMissing);
        Assert.Equal(AuditSeverity.Failure, finding.Severity);
        Assert.Contains("key 7", finding.Message, StringComparison.Ordinal);
        None(Chrony($"keyfile {keys}\nserver a key 2\nmakestep 1 3\n"), AuditCodes.KeyMissing);
    }

    [Fact]
    public void AKeyNotInTrustedKeyIsAFailureInAnNtpConf()
    {
        string keys = _files.Write("ntp.keys", "1 AES128CMAC 000102030405060708090A0B0C0D0E0F\n2 AES128CMAC 000102030405060708090A0B0C0D0E0E\n");
        AuditFinding finding = Single(Ntp($"keys {keys}\ntrustedkey 2\nserver a key 1\n"), AuditCodes.KeyUntrusted);
        Assert.Equal(AuditSeverity.Failure, finding.Severity);
        None(Ntp($"keys {keys}\ntrustedkey 1-2\nserver a key 1\n"), AuditCodes.KeyUntrusted);
        None(Ntp($"keys {keys}\ntrustedkey (1 ... 2)\nserver a key 1\n"), AuditCodes.KeyUntrusted);
    }

    [Fact]
    public void AKeyWithoutAKeyFileIsAFailure()
    {
        Assert.Equal(AuditSeverity.Failure, Single(Chrony("server a key 1\nmakestep 1 3\n"), AuditCodes.KeyFileMissing).Severity);
    }

    [Fact]
    public void AKeyFileThatDoesNotExistOrHasABadLineIsAFailure()
    {
        Assert.Contains("No such file", Single(Chrony($"keyfile {_files.Directory}/none.keys\nserver a key 1\nmakestep 1 3\n"), AuditCodes.KeyFileInvalid).Message, StringComparison.Ordinal);
        string keys = _files.Write("bad.keys", "1 AES128 HEX:0011\n");
        AuditFinding bad = Single(Chrony($"keyfile {keys}\nserver a key 1\nmakestep 1 3\n"), AuditCodes.KeyFileInvalid);
        Assert.Contains("bad.keys:1", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyFileReadableByOthersOrAForeignGroupIsAWarning()
    {
        string keys = _files.Write("chrony.keys", "2 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        string config = $"keyfile {keys}\nserver a key 2\nserver b key 2\nserver c key 2\nmakestep 1 3\n";
        var everyone = new FileOwnership(0, 101, (UnixFileMode)0b110_100_100);
        Assert.Contains("everyone", Single(Chrony(config, AuditFiles.Machine(keyFileOwnership: everyone)), AuditCodes.KeyFilePermissions).Message, StringComparison.Ordinal);

        var foreignGroup = new FileOwnership(0, 200, (UnixFileMode)0b110_100_000);
        Assert.Equal(AuditSeverity.Warning, Single(Chrony(config, AuditFiles.Machine(keyFileOwnership: foreignGroup)), AuditCodes.KeyFilePermissions).Severity);

        // chrony's packaging: 0640 root:_chrony, read by the daemon through its own group.
        None(Chrony(config, AuditFiles.Machine(keyFileOwnership: s_daemonGroup)), AuditCodes.KeyFilePermissions);
    }

    [Fact]
    public void AKeyFileTheDaemonsUserCannotReadIsAFailure()
    {
        string keys = _files.Write("chrony.keys", "2 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        string config = $"keyfile {keys}\nserver a key 2\nmakestep 1 3\n";

        // chrony's default user _chrony (in the fake passwd) and a root-only file.
        AuditFinding finding = Single(Chrony(config, AuditFiles.Machine(keyFileOwnership: s_rootOnly)), AuditCodes.KeyFileUnreadableByDaemon);
        Assert.Equal(AuditSeverity.Failure, finding.Severity);
        Assert.Contains("'_chrony'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("chown root:_chrony", finding.Fix, StringComparison.Ordinal);

        None(Chrony(config + "user root\n", AuditFiles.Machine(keyFileOwnership: s_rootOnly)), AuditCodes.KeyFileUnreadableByDaemon);

        // A supplementary group of the user counts.
        var keysGroup = new FileOwnership(0, 200, (UnixFileMode)0b110_100_000);
        None(Chrony(config, AuditFiles.Machine(keyFileOwnership: keysGroup)), AuditCodes.KeyFileUnreadableByDaemon);

        Assert.Contains("'ntp'", Single(Ntp($"keys {keys}\nserver a key 2\n"), AuditCodes.KeyFileUnreadableByDaemon).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NtpsecNovalIsAFailure()
    {
        AuditFinding finding = Single(Ntp("server a nts noval\n"), AuditCodes.NtsCertificateNotVerified);
        Assert.Equal(AuditSeverity.Failure, finding.Severity);
        None(Ntp("server a nts\n"), AuditCodes.NtsCertificateNotVerified);
    }

    [Fact]
    public void ReferenceClocksAreNeitherFlaggedNorIgnoredInTheCount()
    {
        IReadOnlyList<AuditFinding> findings = Chrony("refclock PHC /dev/ptp0 poll 0\nserver a nts\nserver b nts\nauthselectmode require\nntsdumpdir /var/lib/chrony\nmakestep 1 3\n");
        None(findings, AuditCodes.UnauthenticatedSourceCanSteer);
        None(findings, AuditCodes.TooFewSources);
    }
}
