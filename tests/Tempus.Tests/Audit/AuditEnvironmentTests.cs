using Tempus.Audit;

namespace Tempus.Tests.Audit;

/// <summary>The parts of the audit that read this machine: statx ownership, the user database, and the real key-file check.</summary>
public sealed class AuditEnvironmentTests : IDisposable
{
    private readonly AuditFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void StatxReportsTheFilesModeAndOurOwnership()
    {
        string path = _files.Write("f", "x", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        (FileOwnership? ownership, string? error) = AuditEnvironment.System.GetOwnership(path);
        Assert.Null(error);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, ownership!.Mode);
        Assert.Equal(Interop.Libc.GetEffectiveUserId(), ownership.Uid);
    }

    [Fact]
    public void StatxOfAMissingFileSaysSo()
    {
        (FileOwnership? ownership, string? error) = AuditEnvironment.System.GetOwnership(Path.Combine(_files.Directory, "none"));
        Assert.Null(ownership);
        Assert.Equal("No such file or directory", error);
    }

    [Fact]
    public void AUsersSupplementaryGroupsComeFromTheGroupDatabase()
    {
        (uint uid, IReadOnlySet<uint> gids) = AuditFiles.Machine().LookUpUser("_chrony")!.Value;
        Assert.Equal(101u, uid);
        Assert.Equal(new HashSet<uint> { 101, 200 }, gids);
        Assert.Null(AuditFiles.Machine().LookUpUser("nobody-here"));
    }

    [Fact]
    public void AWorldReadableKeyFileIsFoundOnTheRealFileSystem()
    {
        string keys = _files.Write("chrony.keys", "2 AES128 HEX:000102030405060708090A0B0C0D0E0F\n", (UnixFileMode)0b110_100_100);
        AuditInput input = _files.Read("chrony.conf", $"keyfile {keys}\nserver a key 2\nmakestep 1 3\nuser root\n");
        AuditFinding finding = Assert.Single(ConfigAuditor.Audit(input, AuditEnvironment.System), f => f.Code == AuditCodes.KeyFilePermissions);
        Assert.Contains("mode 0644", finding.Message, StringComparison.Ordinal);

        File.SetUnixFileMode(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.DoesNotContain(ConfigAuditor.Audit(input, AuditEnvironment.System), f => f.Code == AuditCodes.KeyFilePermissions);
    }
}
