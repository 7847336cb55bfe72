using Tempus.Audit;

namespace Tempus.Tests.Audit;

/// <summary>A temporary directory for audited configuration and key files, and a fake machine around them.</summary>
internal sealed class AuditFiles : IDisposable
{
    public AuditFiles()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tempus-audit-").FullName;
    }

    public string Directory { get; }

    public string Write(string name, string text, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        string path = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    public AuditInput Read(string name, string text, ConfigDialect? dialect = null) => AuditConfigReader.Read(Write(name, text), dialect);

    /// <summary>A machine where every path is on ext4 except those given as tmpfs, with a daemon user "_chrony" (uid 101, gid 101).</summary>
    public static AuditEnvironment Machine(string mounts = "/dev/sda1 / ext4 rw 0 0\n", FileOwnership? keyFileOwnership = null) => new()
    {
        ReadMounts = () => mounts,
        ReadPasswd = () => "root:x:0:0:root:/root:/bin/bash\n_chrony:x:101:101::/var/lib/chrony:/usr/sbin/nologin\nntp:x:102:102::/nonexistent:/usr/sbin/nologin\n",
        ReadGroups = () => "root:x:0:\n_chrony:x:101:\nntp:x:102:\nkeys:x:200:_chrony\n",
        GetOwnership = path => keyFileOwnership is null ? AuditEnvironment.System.GetOwnership(path) : (keyFileOwnership, null),
    };

    public static IReadOnlyList<AuditFinding> Audit(AuditInput input, AuditEnvironment? environment = null) =>
        ConfigAuditor.Audit(input, environment ?? Machine(keyFileOwnership: new FileOwnership(0, 0, UnixFileMode.UserRead | UnixFileMode.UserWrite)));

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
