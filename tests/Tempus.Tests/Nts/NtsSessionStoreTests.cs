using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Tests.Server;

namespace Tempus.Tests.Nts;

/// <summary>RFC 8915 §5.7: sessions kept in persistent storage so a restart needs no new NTS-KE.</summary>
public sealed class NtsSessionStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"tempus-ntsdump-{Guid.NewGuid():N}");
    private readonly NtsServerKeyRing _ring = NtsServerKeyRing.CreateEphemeral(new FakeClock(new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc)), 0);

    public void Dispose()
    {
        _ring.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(NtsTestSessions.Algorithms), MemberType = typeof(NtsTestSessions))]
    public void SavedSessionLoadsWithItsKeysAndCookiesInOrder(NtsAeadAlgorithm algorithm)
    {
        var store = new NtsSessionStore(_directory);
        NtsSession session = NtsTestSessions.Create(_ring, algorithm, cookies: 5);

        store.Save(session);
        NtsSession? loaded = store.Load(session.KeServer, session.KePort);

        Assert.NotNull(loaded);
        Assert.Equal(session.KeServer, loaded!.KeServer);
        Assert.Equal(session.KePort, loaded.KePort);
        Assert.Equal(session.NtpServer, loaded.NtpServer);
        Assert.Equal(session.NtpPort, loaded.NtpPort);
        Assert.Equal(algorithm, loaded.Algorithm);
        Assert.Equal(session.C2SKey, loaded.C2SKey);
        Assert.Equal(session.S2CKey, loaded.S2CKey);
        Assert.Equal(session.EstablishedUnixNanoseconds, loaded.EstablishedUnixNanoseconds);
        Assert.Equal(session.Cookies.ToArray(), loaded.Cookies.ToArray());
    }

    [Fact]
    public void SessionFileHasModeSixHundredAndReplacesThePreviousOneAtomically()
    {
        var store = new NtsSessionStore(_directory);
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        store.Save(session);
        session.Cookies.Dequeue();
        store.Save(session);

        string path = store.GetPath(session.KeServer, session.KePort);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal([path], Directory.GetFiles(_directory));
        Assert.Equal(7, store.Load(session.KeServer, session.KePort)!.Cookies.Count);
    }

    [Fact]
    public void MissingSessionIsNull()
    {
        Assert.Null(new NtsSessionStore(_directory).Load("time.example", 4460));
    }

    [Fact]
    public void SessionWithoutCookiesStillLoads()
    {
        var store = new NtsSessionStore(_directory);
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 0);
        store.Save(session);

        Assert.Empty(store.Load(session.KeServer, session.KePort)!.Cookies);
    }

    [Fact]
    public void DeletedSessionIsGone()
    {
        var store = new NtsSessionStore(_directory);
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);
        store.Save(session);
        store.Delete(session.KeServer, session.KePort);

        Assert.Null(store.Load(session.KeServer, session.KePort));
    }

    [Theory]
    [InlineData("time.example", 4460, "time.example_4460.nts")]
    [InlineData("Time.Example", 4460, "time.example_4460.nts")]
    [InlineData("::1", 4460, "%3A%3A1_4460.nts")]
    [InlineData("../../etc/passwd", 1, "%2E.%2F..%2Fetc%2Fpasswd_1.nts")]
    public void FileNamesStayInsideTheDirectory(string host, int port, string expected)
    {
        var store = new NtsSessionStore(_directory);
        string path = store.GetPath(host, port);

        Assert.Equal(Path.Combine(store.Directory, expected), path);
        Assert.Equal(store.Directory, Path.GetDirectoryName(path));
    }

    private const string Valid = """
        tempus-nts-session 1
        ke-server time.example 4460
        ntp-server ntp.example 123
        aead 30
        established 1764000000000000000
        c2s 000102030405060708090a0b0c0d0e0f
        s2c 101112131415161718191a1b1c1d1e1f
        cookie 0102030405060708
        """;

    [Fact]
    public void HandWrittenSessionFileLoads()
    {
        var store = new NtsSessionStore(_directory);
        Directory.CreateDirectory(_directory);
        File.WriteAllText(store.GetPath("time.example", 4460), Valid);

        NtsSession session = store.Load("time.example", 4460)!;

        Assert.Equal("ntp.example", session.NtpServer);
        Assert.Equal(NtsAeadAlgorithm.Aes128GcmSiv, session.Algorithm);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, session.Cookies.Single());
    }

    [Theory]
    [InlineData("", 0, "empty")]
    [InlineData("tempus-nts-session 9", 1, "expected 'tempus-nts-session 1'")]
    [InlineData("aead 31", 4, "expected 'aead <15, 16, 17 or 30>'")]
    [InlineData("c2s 0001", 6, "32 hex digits")]
    [InlineData("ke-server time.example 99999", 2, "port 1-65535")]
    [InlineData("cookie 01020", 8, "expected 'cookie <hex>'")]
    [InlineData("cookie zz", 8, "not hex")]
    [InlineData("established", 5, "expected 'established <Unix nanoseconds>'")]
    [InlineData("s2c 1 2", 7, "expected 's2c")]
    [InlineData("ntp-server", 3, "expected 'ntp-server <host> <port 1-65535>'")]
    public void DamagedSessionFileNamesTheFileTheLineAndTheCause(string replacement, int line, string cause)
    {
        var store = new NtsSessionStore(_directory);
        Directory.CreateDirectory(_directory);
        string[] lines = Valid.Split('\n');
        string text = replacement.Length == 0 ? string.Empty : string.Join('\n', lines.Select((l, i) => i + 1 == line ? replacement : l));
        string path = store.GetPath("time.example", 4460);
        File.WriteAllText(path, text);

        NtsStateFileException e = Assert.Throws<NtsStateFileException>(() => store.Load("time.example", 4460));

        Assert.Equal(path, e.FileName);
        Assert.Equal(line, e.Line);
        Assert.Contains(cause, e.Message);
        Assert.StartsWith(path, e.Message);
    }

    [Fact]
    public void TruncatedSessionFileSaysWhatIsMissing()
    {
        var store = new NtsSessionStore(_directory);
        Directory.CreateDirectory(_directory);
        File.WriteAllText(store.GetPath("time.example", 4460), string.Join('\n', Valid.Split('\n').Take(5)));

        NtsStateFileException e = Assert.Throws<NtsStateFileException>(() => store.Load("time.example", 4460));

        Assert.Contains("no 'c2s' line", e.Message);
    }

    [Fact]
    public void TooManyCookiesAreRefused()
    {
        var store = new NtsSessionStore(_directory);
        Directory.CreateDirectory(_directory);
        File.WriteAllText(store.GetPath("time.example", 4460), Valid + string.Concat(Enumerable.Repeat("\ncookie 0102", 8)));

        NtsStateFileException e = Assert.Throws<NtsStateFileException>(() => store.Load("time.example", 4460));

        Assert.Contains("more than 8 cookies", e.Message);
    }

    [Fact]
    public void SessionOfAnotherServerUnderThisServersNameIsRefused()
    {
        var store = new NtsSessionStore(_directory);
        Directory.CreateDirectory(_directory);
        File.WriteAllText(store.GetPath("other.example", 4460), Valid);

        NtsStateFileException e = Assert.Throws<NtsStateFileException>(() => store.Load("other.example", 4460));

        Assert.Contains("not other.example:4460", e.Message);
    }

    [Fact]
    public void UnwritableDumpDirectoryIsReportedWithTheFileName()
    {
        // ntsdumpdir names a regular file: no directory can be created there, even as root.
        File.WriteAllText(_directory, "not a directory");
        try
        {
            var store = new NtsSessionStore(_directory);
            NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 1);

            NtsStateFileException e = Assert.Throws<NtsStateFileException>(() => store.Save(session));

            Assert.Equal(store.GetPath(session.KeServer, session.KePort), e.FileName);
            Assert.Contains("writable", e.Message);
        }
        finally
        {
            File.Delete(_directory);
        }
    }
}
