using System.Text;
using Tempus.Config;

namespace Tempus.Tests.Config;

/// <summary>Whatever bytes a configuration holds, the parser answers with errors, never an exception.</summary>
public sealed class ConfigGarbageTests
{
    private const string File = "/etc/tempus/garbage.conf";

    [Fact]
    public void RandomBinaryGivesErrorsNotExceptions()
    {
        var random = new Random(4);
        for (int round = 0; round < 50; round++)
        {
            byte[] bytes = new byte[random.Next(1, 4096)];
            random.NextBytes(bytes);
            string text = Encoding.UTF8.GetString(bytes);

            TempusConfiguration config = ConfigParser.Parse(text, File, out IReadOnlyList<ConfigError> errors);

            Assert.NotNull(config);
            Assert.All(errors, e => Assert.Equal(File, e.FileName));
            Assert.All(errors, e => Assert.DoesNotContain(e.Message, c => char.IsControl(c)));
        }
    }

    [Fact]
    public void RandomWordsFromTheGrammarGiveErrorsNotExceptions()
    {
        string[] words =
        [
            "server", "pool", "peer", "include", "confdir", "sourcedir", "ratelimit", "metricsaddress", "makestep",
            "maxchange", "log", "bindcmdaddress", "key", "nts", "minpoll", "maxpoll", "interval", "burst", "-1", "0",
            "1e400", "NaN", "[::1]:", ":", "*", "/", "..", "", "maxsources", "certset", "0x10", "-", "--", "99999999999",
        ];
        var random = new Random(5);
        var text = new StringBuilder();
        for (int line = 0; line < 2000; line++)
        {
            int count = random.Next(1, 8);
            for (int w = 0; w < count; w++)
            {
                text.Append(words[random.Next(words.Length)]).Append(' ');
            }

            text.Append('\n');
        }

        string root = Path.Combine(Path.GetTempPath(), $"tempus-garbage-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        try
        {
            ConfigParser.Parse(text.ToString(), Path.Combine(root, "g.conf"), out IReadOnlyList<ConfigError> errors);
            Assert.NotEmpty(errors);
            Assert.True(errors.Count <= ConfigParser.MaxErrors + 1);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void ControlCharactersInAnUnknownDirectiveAreEscapedAndLongWordsCut()
    {
        ConfigParser.Parse("fro\u0001b\u001bnicate\n" + new string('x', 500) + "\n", File, out IReadOnlyList<ConfigError> errors);
        Assert.Equal(@"unknown directive 'fro\x01b\x1bnicate'", errors[0].Message);
        Assert.Equal($"unknown directive '{new string('x', 64)}...'", errors[1].Message);
    }

    [Fact]
    public void NulBytesAndOverlongLinesAreErrorsAndTheRestIsRead()
    {
        string text = "server a\0b.example.net\n" + "server " + new string('a', 3000) + "\nserver ok.example.net\n";
        TempusConfiguration config = ConfigParser.Parse(text, File, out IReadOnlyList<ConfigError> errors);
        Assert.Equal(
            [$"{File}:1: line contains a NUL character", $"{File}:2: line is 3007 characters long, more than the 2048-character limit"],
            errors.Select(e => e.ToString()));
        Assert.Equal("ok.example.net", Assert.Single(config.Sources).Host);
    }

    [Fact]
    public void ErrorsStopAtTheLimitWithOneFinalError()
    {
        string text = string.Concat(Enumerable.Repeat("bogus\n", ConfigParser.MaxErrors + 500));
        ConfigParser.Parse(text, File, out IReadOnlyList<ConfigError> errors);
        Assert.Equal(ConfigParser.MaxErrors + 1, errors.Count);
        Assert.Equal($"{File}:{ConfigParser.MaxErrors + 1}: more than {ConfigParser.MaxErrors} errors: stopped reading here", errors[^1].ToString());
    }

    [Fact]
    public void AFileLargerThanTheLimitIsOneError()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tempus-big-{Guid.NewGuid():N}.conf");
        System.IO.File.WriteAllText(path, new string('#', ConfigParser.MaxFileSize + 1));
        try
        {
            ConfigParser.Check(path, out IReadOnlyList<ConfigError> errors);
            Assert.Equal($"{path}: cannot read configuration: file is {ConfigParser.MaxFileSize + 1} bytes, larger than the {ConfigParser.MaxFileSize}-byte limit", Assert.Single(errors).ToString());
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }
}
