// The logger is also fed through LoggerExtensions (FormattedLogValues state) on purpose, beside [LoggerMessage].
#pragma warning disable CA1848, CA1873, CA2254

using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Tempus.Daemon.Logging;

namespace Tempus.Daemon.Tests;

/// <summary>
/// tempusd's stderr lines, byte for byte what Microsoft.Extensions.Logging.Console printed before (tests and scripts
/// read them): each line is checked against the real SimpleConsole (SingleLine, UTC timestamp, no colours) and
/// Systemd formatters from the shared framework, fed the same entry.
/// </summary>
public sealed partial class LoggerStderrTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 29, 23, 13, 1, 78, TimeSpan.Zero);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "NTS-KE server certificates: {Subject} (valid until {NotAfter})")]
    private static partial void LogCertificates(ILogger logger, string subject, string notAfter);

    [LoggerMessage(EventId = 711, Level = LogLevel.Error, Message = "{Source}: unexpected failure in the poll loop, retrying in {Seconds} s")]
    private static partial void LogLoopFailed(ILogger logger, string source, int seconds, Exception exception);

    [LoggerMessage(EventId = 100, Level = LogLevel.Trace, Message = "reply to {Client}")]
    private static partial void LogReply(ILogger logger, IPAddress client);

    [Fact]
    public void ALineIsTimestampLevelCategoryEventIdAndMessage()
    {
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, null, new FixedTime(s_now)));
        LogCertificates(provider.CreateLogger("Tempus.Nts.NtsKeServer"), "CN=localhost", "2026-12-29T23:12:57Z");

        Assert.Equal(
            "2026-11-29T23:13:01.078Z info: Tempus.Nts.NtsKeServer[401] NTS-KE server certificates: CN=localhost (valid until 2026-12-29T23:12:57Z)\n",
            Encoding.UTF8.GetString(stderr.ToArray()));
        Assert.False(provider.Output.UsesJournal);
    }

    [Fact]
    public void TheTimestampIsTheCurrentUtcTimeWithMilliseconds()
    {
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, null, TimeProvider.System));
        DateTime before = DateTime.UtcNow;
        provider.CreateLogger("c").LogInformation("m");
        DateTime after = DateTime.UtcNow;

        string line = Encoding.UTF8.GetString(stderr.ToArray());
        Match match = Regex.Match(line, @"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})Z info: c\[0\] m\n$");
        Assert.True(match.Success, line);
        var stamp = DateTime.ParseExact(match.Groups[1].Value, "yyyy-MM-ddTHH:mm:ss.fff", null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
        Assert.InRange(stamp, before.AddMilliseconds(-1), after);
    }

    [Theory]
    [InlineData(LogLevel.Trace, "trce")]
    [InlineData(LogLevel.Debug, "dbug")]
    [InlineData(LogLevel.Information, "info")]
    [InlineData(LogLevel.Warning, "warn")]
    [InlineData(LogLevel.Error, "fail")]
    [InlineData(LogLevel.Critical, "crit")]
    public void EveryLevelIsPrintedAsSimpleConsolePrintedIt(LogLevel level, string name)
    {
        string ours = Ours(level, "Tempus.Sources.SourceManager", new EventId(712, "LogX"), "time.example: key 3 is gone", null);
        Assert.StartsWith($"2026-11-29T23:13:01.078Z {name}: ", ours, StringComparison.Ordinal);
        Assert.Equal(SimpleConsole(level, "Tempus.Sources.SourceManager", new EventId(712, "LogX"), "time.example: key 3 is gone", null), WithoutTimestamp(ours));
    }

    [Theory]
    [InlineData("line one\nline two\n")]
    [InlineData("carriage\r\nreturn stays, as SimpleConsole leaves it")]
    [InlineData("")]
    [InlineData("non-ASCII: Zürich → 東京, and an emoji 🕰")]
    [InlineData("lone surrogate \ud800 becomes U+FFFD")]
    public void MessagesAreOneLineAsSimpleConsoleMadeThem(string message)
    {
        string ours = Ours(LogLevel.Warning, "tempusd", new EventId(5), message, null);
        Assert.Equal(SimpleConsole(LogLevel.Warning, "tempusd", new EventId(5), message, null), WithoutTimestamp(ours));
        Assert.Equal(1, ours.Count(c => c == '\n'));
    }

    [Fact]
    public void AnExceptionFollowsTheMessageOnTheSameLineAsSimpleConsolePrintedIt()
    {
        Exception exception = Thrown();
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, null, new FixedTime(s_now)));
        LogLoopFailed(provider.CreateLogger("Tempus.Sources.SourceManager"), "time.example", 10, exception);

        string ours = Encoding.UTF8.GetString(stderr.ToArray());
        Assert.Contains("fail: Tempus.Sources.SourceManager[711] time.example: unexpected failure in the poll loop, retrying in 10 s System.InvalidOperationException: the poll loop broke  ---> System.IO.IOException: inner", ours, StringComparison.Ordinal);
        Assert.Contains(nameof(Thrown), ours, StringComparison.Ordinal); // the stack trace, on the same line
        Assert.Equal(1, ours.Count(c => c == '\n'));
        Assert.Equal(SimpleConsole(LogLevel.Error, "Tempus.Sources.SourceManager", new EventId(711, nameof(LogLoopFailed)), "time.example: unexpected failure in the poll loop, retrying in 10 s", exception), WithoutTimestamp(ours));
    }

    [Fact]
    public void AnExceptionWithNoMessageIsStillPrinted()
    {
        Exception exception = Thrown();
        string ours = Ours(LogLevel.Critical, "tempusd", new EventId(3), "", exception);
        Assert.Equal(SimpleConsole(LogLevel.Critical, "tempusd", new EventId(3), "", exception), WithoutTimestamp(ours));
    }

    [Fact]
    public void LevelsBelowTheFactorysMinimumAreNotWritten()
    {
        var stderr = new MemoryStream();
        using (var factory = new LoggerFactory([], new LoggerFilterOptions { MinLevel = LogLevel.Information }))
        {
            factory.AddProvider(new TempusLoggerProvider(new LogOutput(stderr, null, new FixedTime(s_now))));
            ILogger logger = factory.CreateLogger("Tempus.Server.UdpNtpServer");
            LogReply(logger, IPAddress.Loopback);
            logger.LogDebug("not this either");
            logger.LogInformation("this one");
        }

        Assert.Equal("2026-11-29T23:13:01.078Z info: Tempus.Server.UdpNtpServer[0] this one\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public void ScopesAreNotSupported()
    {
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, null, new FixedTime(s_now)));
        ILogger logger = provider.CreateLogger("c");
        Assert.Null(logger.BeginScope("scope {Id}", 1));
        logger.LogInformation("m");
        Assert.Equal("2026-11-29T23:13:01.078Z info: c[0] m\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public void LinesFromManyThreadsAreNeverInterleaved()
    {
        const int Threads = 4, PerThread = 500;
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, null, new FixedTime(s_now)));
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            ILogger logger = provider.CreateLogger($"thread{t}");
            for (int i = 0; i < PerThread; i++)
            {
                logger.LogWarning("entry {Index} of thread {Thread} " + new string('x', i % 300), i, t);
            }
        });

        string[] lines = Encoding.UTF8.GetString(stderr.ToArray()).Split('\n');
        Assert.Equal("", lines[^1]);
        Assert.Equal(Threads * PerThread, lines.Length - 1);
        Assert.All(lines[..^1], line => Assert.Matches(@"^2026-11-29T23:13:01\.078Z warn: thread(\d)\[0\] entry (\d+) of thread \1 x*$", line));
    }

    [Fact]
    public void TheSyslogLineIsWhatTheSystemdConsoleFormatPrinted()
    {
        // The fallback under systemd when the journal socket refuses an entry: stderr is then the journal's stream.
        Exception exception = Thrown();
        foreach (LogLevel level in new[] { LogLevel.Trace, LogLevel.Debug, LogLevel.Information, LogLevel.Warning, LogLevel.Error, LogLevel.Critical })
        {
            var buffer = new LogBuffer(64 * 1024);
            StderrLine.WriteSyslog(buffer, level, "Tempus.Nts.NtsKeServer", 401, "two\nlines", exception.ToString());
            Assert.Equal(Formatted("systemd", level, "Tempus.Nts.NtsKeServer", new EventId(401), "two\nlines", exception), Encoding.UTF8.GetString(buffer.Written));
        }
    }

    [Fact]
    public void AnOverlongLineIsCutButStillEndsTheLine()
    {
        var buffer = new LogBuffer(100);
        StderrLine.WriteSimple(buffer, s_now, LogLevel.Information, "c", 1, new string('é', 200), null);
        Assert.InRange(buffer.Length, 99, 100);
        string line = Encoding.UTF8.GetString(buffer.Written);
        Assert.StartsWith("2026-11-29T23:13:01.078Z info: c[1] éé", line, StringComparison.Ordinal);
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\uFFFD', line);
    }

    internal static Exception Thrown()
    {
        try
        {
            try
            {
                throw new IOException("inner");
            }
            catch (IOException e)
            {
                throw new InvalidOperationException("the poll loop broke", e);
            }
        }
        catch (InvalidOperationException e)
        {
            return e;
        }
    }

    private static string Ours(LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, null, new FixedTime(s_now)));
        provider.CreateLogger(category).Log(level, eventId, message, exception, (m, _) => m);
        return Encoding.UTF8.GetString(stderr.ToArray());
    }

    // The timestamp is SimpleConsole's own clock; everything after it must match.
    private static string WithoutTimestamp(string line) => line["2026-11-29T23:13:01.078Z ".Length..];

    private static string SimpleConsole(LogLevel level, string category, EventId eventId, string message, Exception? exception) =>
        Formatted("simple", level, category, eventId, message, exception);

    /// <summary>The line the console logger's formatter named <paramref name="formatter"/> writes, configured as tempusd configured it.</summary>
    private static string Formatted(string formatter, LogLevel level, string category, EventId eventId, string message, Exception? exception)
    {
        var services = new ServiceCollection();
        services.AddLogging(builder =>
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
            builder.AddSystemdConsole(o => o.IncludeScopes = false);
        });
        using ServiceProvider provider = services.BuildServiceProvider();
        ConsoleFormatter console = provider.GetServices<ConsoleFormatter>().Single(f => f.Name == formatter);
        var writer = new StringWriter { NewLine = "\n" };
        console.Write(new LogEntry<string>(level, category, eventId, message, exception, (m, _) => m), scopeProvider: null, writer);
        return writer.ToString();
    }
}

/// <summary>A clock that always reads one instant.</summary>
internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
