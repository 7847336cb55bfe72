using System.Diagnostics;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Tempus.Daemon.Logging;

namespace Tempus.Daemon.Tests;

/// <summary>
/// <c>JOURNAL_STREAM</c> (systemd.exec(5)): parsed strictly, compared with the real device and inode of a
/// descriptor, and obeyed by the real tempusd apphost.
/// </summary>
public sealed class JournalStreamTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempusd-journal-stream-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("8:12345", 8ul, 12345ul)]
    [InlineData("0:0", 0ul, 0ul)]
    [InlineData("18446744073709551615:18446744073709551615", ulong.MaxValue, ulong.MaxValue)]
    public void DeviceAndInodeAreParsed(string value, ulong device, ulong inode)
    {
        Assert.True(JournalStream.TryParse(value, out ulong parsedDevice, out ulong parsedInode));
        Assert.Equal(device, parsedDevice);
        Assert.Equal(inode, parsedInode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(":")]
    [InlineData("8:")]
    [InlineData(":12345")]
    [InlineData("8")]
    [InlineData("a:b")]
    [InlineData("8:12345:1")]
    [InlineData("-8:12345")]
    [InlineData("+8:12345")]
    [InlineData(" 8:12345")]
    [InlineData("8:12345 ")]
    [InlineData("8:0x10")]
    [InlineData("18446744073709551616:1")]
    [InlineData("1:00000000000000000000000000000000000000000000000000001")]
    [InlineData("8:1\n")]
    public void GarbageIsNotAJournalStream(string? value)
    {
        Assert.False(JournalStream.TryParse(value, out _, out _));
        Assert.False(JournalStream.Matches(value, 2));
    }

    [Fact]
    public void AnOpenFilesIdentityIsWhatStatSays()
    {
        string path = Path.Combine(_dir, "log");
        using SafeFileHandle file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        Assert.True(JournalStream.TryGetIdentity(Fd(file), out ulong device, out ulong inode));

        // coreutils' stat: %d is st_dev in decimal, %i st_ino, as systemd writes them into JOURNAL_STREAM.
        var info = new ProcessStartInfo("stat", ["-c", "%d:%i", path]) { RedirectStandardOutput = true, UseShellExecute = false };
        using Process stat = Process.Start(info)!;
        string expected = stat.StandardOutput.ReadToEnd().Trim();
        Assert.True(stat.WaitForExit(30_000));
        Assert.Equal(expected, string.Create(CultureInfo.InvariantCulture, $"{device}:{inode}"));
    }

    [Fact]
    public void JournalStreamMatchesOnlyTheDescriptorItNames()
    {
        using SafeFileHandle first = File.OpenHandle(Path.Combine(_dir, "a"), FileMode.CreateNew, FileAccess.Write);
        using SafeFileHandle second = File.OpenHandle(Path.Combine(_dir, "b"), FileMode.CreateNew, FileAccess.Write);
        Assert.True(JournalStream.TryGetIdentity(Fd(first), out ulong device, out ulong inode));
        string value = string.Create(CultureInfo.InvariantCulture, $"{device}:{inode}");

        Assert.True(JournalStream.Matches(value, Fd(first)));
        Assert.False(JournalStream.Matches(value, Fd(second)));
        Assert.False(JournalStream.Matches(string.Create(CultureInfo.InvariantCulture, $"{device + 1}:{inode}"), Fd(first)));
        Assert.False(JournalStream.Matches(value, -1));
        Assert.False(JournalStream.TryGetIdentity(-1, out _, out _));
    }

    [Fact]
    public async Task TempusdSpeaksToTheJournalOnlyWhenJournalStreamNamesItsStderr()
    {
        // A configuration error makes tempusd log two critical entries and exit at once.
        string config = Path.Combine(_dir, "bad.conf");
        await File.WriteAllTextAsync(config, "port abc\n");
        string journalLog = Path.Combine(_dir, "journal.log");
        string otherLog = Path.Combine(_dir, "other.log");
        string value;
        using (SafeFileHandle file = File.OpenHandle(journalLog, FileMode.CreateNew, FileAccess.Write))
        {
            Assert.True(JournalStream.TryGetIdentity(Fd(file), out ulong device, out ulong inode));
            value = string.Create(CultureInfo.InvariantCulture, $"{device}:{inode}");
        }

        await File.WriteAllTextAsync(otherLog, "");

        Assert.Equal(1, await RunTempusdAsync(config, journalLog, value));
        Assert.Equal(1, await RunTempusdAsync(config, otherLog, value));

        // Named stderr: the native protocol first. This machine has no journald, so the entry falls back to the
        // stream as a <priority> line; where journald runs, the entry is in the journal and the stream stays empty.
        string journalText = await File.ReadAllTextAsync(journalLog);
        if (File.Exists(LogOutput.JournalSocketPath))
        {
            Assert.Equal("", journalText);
        }
        else
        {
            Assert.Equal($"<2>tempusd[4] configuration error: {config}:1: port: bad port 'abc': not an integer\n", journalText);
        }

        // JOURNAL_STREAM inherited but stderr elsewhere: the plain timestamped line.
        string otherText = await File.ReadAllTextAsync(otherLog);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z crit: tempusd\[4\] configuration error: .*bad\.conf:1: port: bad port 'abc': not an integer\n$", otherText);
    }

    private static async Task<int> RunTempusdAsync(string config, string stderrFile, string journalStream)
    {
        // sh appends stderr to the file, so the file keeps the inode JOURNAL_STREAM names.
        var info = new ProcessStartInfo("/bin/sh", ["-c", "exec \"$0\" -x -f \"$1\" 2>>\"$2\"", Path.Combine(AppContext.BaseDirectory, "tempusd"), config, stderrFile])
        {
            UseShellExecute = false,
        };
        info.Environment["JOURNAL_STREAM"] = journalStream;
        using Process process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();
}
