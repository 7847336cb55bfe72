using Tempus.Daemon;

namespace Tempus.Daemon.Tests;

public sealed class DaemonOptionsTests
{
    [Fact]
    public void ChronydStyleFlagsAreParsed()
    {
        DaemonOptions options = DaemonOptions.Parse(["-f", "/tmp/t.conf", "-x", "-d", "-d"]);
        Assert.Equal("/tmp/t.conf", options.ConfigPath);
        Assert.True(options.NoClockControl);
        Assert.Equal(2, options.Verbosity);
        Assert.False(options.CheckConfig);
    }

    [Fact]
    public void DefaultsAreTheSystemConfigWithClockControl()
    {
        DaemonOptions options = DaemonOptions.Parse([]);
        Assert.Equal("/etc/tempus/tempus.conf", options.ConfigPath);
        Assert.False(options.NoClockControl);
    }

    [Theory]
    [InlineData("-z")]
    [InlineData("--bogus")]
    [InlineData("-t", "soon")]
    [InlineData("-t", "-1")]
    [InlineData("-f")]
    [InlineData("-L", "7")]
    public void BadArgumentsAreRejectedWithTheirName(params string[] args)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => DaemonOptions.Parse(args));
        Assert.Contains(args[^1], e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-q", 1)]
    [InlineData("-Q", 2)]
    public void OneShotFlagsAreChronydsAndTakeATimeout(string flag, int mode)
    {
        DaemonOptions options = DaemonOptions.Parse([flag, "-t", "7.5", "-n"]);

        Assert.Equal((OneShotMode)mode, options.OneShot);
        Assert.Equal(TimeSpan.FromSeconds(7.5), options.Timeout);
    }

    [Fact]
    public void CheckConfigReportsEveryErrorAndFails()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tempusd-check-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "port 99999\nnonsense\nallow 10.0.0.0/8\n");
        var stderr = new StringWriter();
        TextWriter original = Console.Error;
        Console.SetError(stderr);
        try
        {
            int code = Tempus.Daemon.Daemon.CheckConfig(DaemonOptions.Parse(["--check-config", "-f", path]));
            Assert.Equal(1, code);
            string output = stderr.ToString();
            Assert.Contains($"{path}:1: port: port 99999 out of range 0-65535", output, StringComparison.Ordinal);
            Assert.Contains($"{path}:2: unknown directive 'nonsense'", output, StringComparison.Ordinal);
            Assert.Contains("2 error(s)", output, StringComparison.Ordinal);
        }
        finally
        {
            Console.SetError(original);
            File.Delete(path);
        }
    }

    [Fact]
    public void CheckConfigReportsAKeyFileProblemWithFileAndLine()
    {
        string dir = Directory.CreateTempSubdirectory("tempusd-check-").FullName;
        File.WriteAllText(Path.Combine(dir, "keys"), "1 AES128 HEX:0011\n");
        File.SetUnixFileMode(Path.Combine(dir, "keys"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(Path.Combine(dir, "t.conf"), "keyfile keys\n");
        var stderr = new StringWriter();
        TextWriter original = Console.Error;
        Console.SetError(stderr);
        try
        {
            Assert.Equal(1, Tempus.Daemon.Daemon.CheckConfig(DaemonOptions.Parse(["-f", Path.Combine(dir, "t.conf")])));
            Assert.Contains($"{Path.Combine(dir, "keys")}:1", stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Console.SetError(original);
            Directory.Delete(dir, true);
        }
    }
}
