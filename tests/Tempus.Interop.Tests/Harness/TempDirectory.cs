namespace Tempus.Interop.Tests.Harness;

// A private 0700 directory for one peer's configuration, keys, sockets and logs; deleted on dispose.
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string purpose)
    {
        FullPath = Directory.CreateTempSubdirectory($"tempus-interop-{purpose}-").FullName;
        File.SetUnixFileMode(FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string FullPath { get; }

    public string PathOf(string name) => Path.Combine(FullPath, name);

    // A 0700 subdirectory (chronyd's ntsdumpdir, a restarted server's key directory).
    public string CreateSubdirectory(string name)
    {
        string path = PathOf(name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    // Key files and configurations are written 0600: chronyd and ntpd warn about readable key files.
    public string WriteFile(string name, string contents)
    {
        string path = PathOf(name);
        File.WriteAllText(path, contents);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(FullPath, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A peer that outlived its kill may still hold a file; the directory is in /tmp.
        }
    }
}
