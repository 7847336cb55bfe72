using System.Text;
using Tempus.Storage;

namespace Tempus.Tests.Storage;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-atomic-").FullName;

    public void Dispose()
    {
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void TheFileIsReplacedWholeAndReadableOnlyByItsOwner()
    {
        string path = Path.Combine(_dir, "state");
        File.WriteAllText(path, "old content that is longer than the new one");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        AtomicFile.Write(path, Encoding.ASCII.GetBytes("new"));

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(["state"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AFailedWriteLeavesTheOldFileAndNoTemporary()
    {
        string path = Path.Combine(_dir, "state");
        File.WriteAllText(path, "old");
        if (Environment.UserName == "root")
        {
            // root ignores directory permissions; make the rename fail instead by putting a directory in the way.
            string blocked = Path.Combine(_dir, "blocked");
            Directory.CreateDirectory(Path.Combine(blocked, "x"));
            Assert.ThrowsAny<IOException>(() => AtomicFile.Write(blocked, Encoding.ASCII.GetBytes("new")));
        }
        else
        {
            File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            Assert.ThrowsAny<Exception>(() => AtomicFile.Write(path, Encoding.ASCII.GetBytes("new")));
            File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Assert.Equal("old", File.ReadAllText(path));
        Assert.DoesNotContain(Directory.GetFiles(_dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }
}
