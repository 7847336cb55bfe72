// The logger is also fed through LoggerExtensions (FormattedLogValues state) on purpose, beside [LoggerMessage].
#pragma warning disable CA1848, CA1873, CA2254

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Tempus.Daemon.Logging;

namespace Tempus.Daemon.Tests;

/// <summary>
/// The journal's native protocol as tempusd speaks it (systemd.io/JOURNAL_NATIVE_PROTOCOL): entries sent to a
/// datagram socket this test binds in place of journald's, then parsed back field by field with a strict reader.
/// </summary>
public sealed partial class JournalLoggerTests : IDisposable
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 29, 23, 13, 1, 78, TimeSpan.Zero);

    private readonly string _dir = Directory.CreateTempSubdirectory("tempusd-journal-").FullName;
    private readonly Socket _journal;
    private readonly MemoryStream _stderr = new();
    private readonly TempusLoggerProvider _provider;

    public JournalLoggerTests()
    {
        _journal = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _journal.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _provider = new TempusLoggerProvider(new LogOutput(_stderr, SocketPath, new FixedTime(s_now)));
    }

    private string SocketPath => Path.Combine(_dir, "socket");

    public void Dispose()
    {
        _provider.Dispose();
        _journal.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [LoggerMessage(EventId = 712, Level = LogLevel.Warning, Message = "{Source}: key {KeyId} is not in {KeyFile} ({Address}, offset {Offset} s, {Missing})")]
    private static partial void LogKeyMissing(ILogger logger, string source, uint keyId, string keyFile, IPAddress address, double offset, string? missing);

    [LoggerMessage(EventId = 711, Level = LogLevel.Error, Message = "{Source}: unexpected failure in the poll loop")]
    private static partial void LogLoopFailed(ILogger logger, string source, Exception exception);

    [Fact]
    public void AnEntryIsOneDatagramWithTheMessageItsPriorityAndItsTemplateValues()
    {
        LogKeyMissing(_provider.CreateLogger("Tempus.Sources.SourceManager"), "time.example", 21, "/etc/tempus/keys", IPAddress.Parse("2001:db8::1"), -0.0125, null);

        List<KeyValuePair<string, string>> fields = Receive();
        Assert.Equal(
            [
                new("MESSAGE", "time.example: key 21 is not in /etc/tempus/keys (2001:db8::1, offset -0.0125 s, (null))"),
                new("PRIORITY", "4"),
                new("SYSLOG_IDENTIFIER", "tempusd"),
                new("TEMPUS_CATEGORY", "Tempus.Sources.SourceManager"),
                new("TEMPUS_EVENT_ID", "712"),
                new("TEMPUS_EVENT_NAME", nameof(LogKeyMissing)),
                new("TEMPUS_SOURCE", "time.example"),
                new("TEMPUS_KEYID", "21"),
                new("TEMPUS_KEYFILE", "/etc/tempus/keys"),
                new("TEMPUS_ADDRESS", "2001:db8::1"),
                new("TEMPUS_OFFSET", "-0.0125"),
                new("TEMPUS_MISSING", "(null)"),
            ],
            fields);
        Assert.Empty(_stderr.ToArray());
        Assert.True(_provider.Output.UsesJournal);
    }

    [Theory]
    [InlineData(LogLevel.Trace, "7")]
    [InlineData(LogLevel.Debug, "7")]
    [InlineData(LogLevel.Information, "6")]
    [InlineData(LogLevel.Warning, "4")]
    [InlineData(LogLevel.Error, "3")]
    [InlineData(LogLevel.Critical, "2")]
    public void ThePriorityIsTheSyslogSeverityOfTheLevel(LogLevel level, string priority)
    {
        _provider.CreateLogger("c").Log(level, new EventId(1), "m", null, (m, _) => m);
        Assert.Equal(priority, Single(Receive(), "PRIORITY"));
    }

    [Fact]
    public void AMultiLineMessageIsSentInTheBinaryForm()
    {
        _provider.CreateLogger("c").Log(LogLevel.Information, new EventId(9), "first\nsecond", null, (m, _) => m);

        byte[] datagram = ReceiveBytes();
        byte[] expected = [.. "MESSAGE\n"u8, .. new byte[] { 12, 0, 0, 0, 0, 0, 0, 0 }, .. "first\nsecond\n"u8, .. "PRIORITY=6\n"u8];
        Assert.Equal(expected, datagram[..expected.Length]);
        Assert.Equal("first\nsecond", Single(Parse(datagram), "MESSAGE"));
    }

    [Fact]
    public void AnExceptionIsInTheMessageAndInItsOwnField()
    {
        Exception exception = LoggerStderrTests.Thrown();
        LogLoopFailed(_provider.CreateLogger("Tempus.Sources.SourceManager"), "time.example", exception);

        List<KeyValuePair<string, string>> fields = Receive();
        Assert.Equal("time.example: unexpected failure in the poll loop\n" + exception, Single(fields, "MESSAGE"));
        Assert.Equal(exception.ToString(), Single(fields, "TEMPUS_EXCEPTION"));
        Assert.Equal("3", Single(fields, "PRIORITY"));
        Assert.Equal("time.example", Single(fields, "TEMPUS_SOURCE"));
    }

    [Fact]
    public void TemplateValueNamesBecomeValidJournalFieldNames()
    {
        var state = new List<KeyValuePair<string, object?>>
        {
            new("peer.address", "192.0.2.1"),
            new("_trusted", "x"),
            new("2fa", "y"),
            new("Zürich", "z"),
            new(new string('n', 100), "long"),
            new("count", new[] { 1, 2, 3 }),
            new("{OriginalFormat}", "{peer.address} ..."),
        };
        _provider.CreateLogger("c").Log(LogLevel.Information, new EventId(1), state, null, (_, _) => "m");

        List<KeyValuePair<string, string>> fields = Receive();
        Assert.Equal("192.0.2.1", Single(fields, "TEMPUS_PEER_ADDRESS"));
        Assert.Equal("x", Single(fields, "TEMPUS__TRUSTED"));
        Assert.Equal("y", Single(fields, "TEMPUS_2FA"));
        Assert.Equal("z", Single(fields, "TEMPUS_Z_RICH"));
        Assert.Equal("long", Single(fields, "TEMPUS_" + new string('N', 64 - 7)));
        Assert.Equal("1, 2, 3", Single(fields, "TEMPUS_COUNT"));
        Assert.DoesNotContain(fields, f => f.Key.Contains("ORIGINALFORMAT", StringComparison.Ordinal));
        Assert.All(fields, f => Assert.Matches("^[A-Z][A-Z0-9_]{0,63}$", f.Key));
    }

    [Theory]
    [InlineData("keyId", "TEMPUS_KEYID")]
    [InlineData("a-b.c d", "TEMPUS_A_B_C_D")]
    [InlineData("", "TEMPUS_")]
    [InlineData("ß", "TEMPUS__")]
    public void AFieldNameIsUpperCasedWithEverythingElseAnUnderscore(string name, string expected)
    {
        Span<byte> destination = stackalloc byte[JournalEntry.MaxFieldNameLength];
        Assert.Equal(expected, Encoding.ASCII.GetString(destination[..JournalEntry.WriteFieldName(destination, name)]));
    }

    [Fact]
    public void ValuesAreCutAtTheirBoundsBetweenCharacters()
    {
        var state = new List<KeyValuePair<string, object?>>
        {
            new("Ascii", new string('a', 10_000)),
            new("Euro", new string('€', 10_000)),
            new("Lines", string.Concat(Enumerable.Repeat("line\n", 2_000))),
        };
        string message = string.Concat(Enumerable.Repeat("0123456789", 10_000));
        _provider.CreateLogger("c").Log(LogLevel.Information, new EventId(1), state, null, (_, _) => message);

        List<KeyValuePair<string, string>> fields = Receive();
        Assert.Equal(message[..JournalEntry.MaxMessageBytes], Single(fields, "MESSAGE"));
        Assert.Equal(new string('a', JournalEntry.MaxValueBytes), Single(fields, "TEMPUS_ASCII"));
        Assert.Equal(new string('€', JournalEntry.MaxValueBytes / 3), Single(fields, "TEMPUS_EURO")); // 3 bytes each: 4095 of 4096
        Assert.Equal(string.Concat(Enumerable.Repeat("line\n", 2_000))[..JournalEntry.MaxValueBytes], Single(fields, "TEMPUS_LINES"));
    }

    [Fact]
    public void TheDatagramStaysWithinItsBoundAndKeepsTheMessage()
    {
        var state = new List<KeyValuePair<string, object?>>();
        for (int i = 0; i < 100; i++)
        {
            state.Add(new($"Value{i}", new string((char)('a' + (i % 26)), 5_000)));
        }

        _provider.CreateLogger("c").Log(LogLevel.Warning, new EventId(1), state, null, (_, _) => "many values");

        byte[] datagram = ReceiveBytes();
        Assert.InRange(datagram.Length, JournalEntry.MaxDatagramBytes - 4 * 1024, JournalEntry.MaxDatagramBytes);
        List<KeyValuePair<string, string>> fields = Parse(datagram);
        Assert.Equal("many values", Single(fields, "MESSAGE"));
        Assert.Equal("4", Single(fields, "PRIORITY"));
        // Once the datagram is full the last value that fits in part is cut and the rest are left out.
        List<KeyValuePair<string, string>> values = fields.Where(f => f.Key.StartsWith("TEMPUS_VALUE", StringComparison.Ordinal)).ToList();
        Assert.InRange(values.Count, 10, JournalEntry.MaxTemplateValues);
        for (int i = 0; i < values.Count - 1; i++)
        {
            Assert.Equal($"TEMPUS_VALUE{i}", values[i].Key);
            Assert.Equal(new string((char)('a' + (i % 26)), JournalEntry.MaxValueBytes), values[i].Value);
        }
    }

    [Fact]
    public void AtMostMaxTemplateValuesAreSent()
    {
        var state = new List<KeyValuePair<string, object?>>();
        for (int i = 0; i < 50; i++)
        {
            state.Add(new($"V{i}", i));
        }

        state.Add(new("{OriginalFormat}", "m"));
        _provider.CreateLogger("c").Log(LogLevel.Information, new EventId(1), state, null, (_, _) => "m");

        List<KeyValuePair<string, string>> values = Receive().Where(f => f.Key.StartsWith("TEMPUS_V", StringComparison.Ordinal)).ToList();
        Assert.Equal(Enumerable.Range(0, JournalEntry.MaxTemplateValues).Select(i => new KeyValuePair<string, string>($"TEMPUS_V{i}", $"{i}")), values);
    }

    [Fact]
    public void WhenTheJournalSocketIsMissingTheEntryGoesToStderrWithItsPriority()
    {
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, Path.Combine(_dir, "no-journal-here"), new FixedTime(s_now)));
        Assert.True(provider.Output.UsesJournal);
        LogKeyMissing(provider.CreateLogger("Tempus.Sources.SourceManager"), "time.example", 21, "/etc/tempus/keys", IPAddress.Loopback, 0.5, "x");
        provider.CreateLogger("tempusd").Log(LogLevel.Information, new EventId(1), "two\nlines", null, (m, _) => m);

        Assert.Equal(
            "<4>Tempus.Sources.SourceManager[712] time.example: key 21 is not in /etc/tempus/keys (127.0.0.1, offset 0.5 s, x)\n<6>tempusd[1] two lines\n",
            Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public void WhenTheJournalFallsBehindNoEntryIsLost()
    {
        // Nothing reads the socket: the kernel queues a few datagrams (net.unix.max_dgram_qlen), then the
        // non-blocking send fails with EAGAIN and the entries go to stderr.
        const int Entries = 300;
        ILogger logger = _provider.CreateLogger("c");
        for (int i = 0; i < Entries; i++)
        {
            logger.LogInformation("entry {Index}", i);
        }

        string[] lines = Encoding.UTF8.GetString(_stderr.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var received = new List<int>();
        _journal.Blocking = false;
        byte[] buffer = new byte[JournalEntry.MaxDatagramBytes];
        for (int i = 0; i < Entries; i++)
        {
            int n;
            try
            {
                n = _journal.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                break;
            }

            received.Add(int.Parse(Single(Parse(buffer.AsSpan(0, n)), "TEMPUS_INDEX"), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.NotEmpty(received);
        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.Matches(@"^<6>c\[0\] entry \d+$", line));
        IEnumerable<int> onStderr = lines.Select(l => int.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Enumerable.Range(0, Entries), received.Concat(onStderr).Order());
    }

    [Fact]
    public void AfterDisposalEntriesStillReachStderr()
    {
        var stderr = new MemoryStream();
        var output = new LogOutput(stderr, SocketPath, new FixedTime(s_now));
        var provider = new TempusLoggerProvider(output);
        ILogger logger = provider.CreateLogger("c");
        provider.Dispose();
        Assert.False(output.UsesJournal);
        logger.LogWarning("late");
        Assert.Equal("<4>c[0] late\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    private List<KeyValuePair<string, string>> Receive() => Parse(ReceiveBytes());

    private byte[] ReceiveBytes()
    {
        _journal.ReceiveTimeout = 10_000;
        byte[] buffer = new byte[JournalEntry.MaxDatagramBytes + 1];
        int n = _journal.Receive(buffer);
        return buffer[..n];
    }

    private static string Single(List<KeyValuePair<string, string>> fields, string name)
    {
        List<string> values = fields.Where(f => f.Key == name).Select(f => f.Value).ToList();
        Assert.True(values.Count == 1, $"{values.Count} fields {name} in {string.Join(", ", fields.Select(f => f.Key))}");
        return values[0];
    }

    /// <summary>
    /// A strict reader of the native protocol: <c>NAME=value\n</c>, or <c>NAME\n</c>, a 64-bit little-endian length,
    /// the value and <c>\n</c>; names of journald's valid characters; values valid UTF-8; nothing left over.
    /// </summary>
    private static List<KeyValuePair<string, string>> Parse(ReadOnlySpan<byte> datagram)
    {
        var fields = new List<KeyValuePair<string, string>>();
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        int offset = 0;
        while (offset < datagram.Length)
        {
            ReadOnlySpan<byte> rest = datagram[offset..];
            int end = rest.IndexOfAny((byte)'=', (byte)'\n');
            Assert.True(end > 0, $"no field name at offset {offset}");
            string name = Encoding.ASCII.GetString(rest[..end]);
            Assert.Matches("^[A-Z][A-Z0-9_]{0,63}$", name);
            string value;
            if (rest[end] == '=')
            {
                int newline = rest.IndexOf((byte)'\n');
                Assert.True(newline > end, $"field {name} at offset {offset} has no closing newline");
                value = utf8.GetString(rest[(end + 1)..newline]);
                offset += newline + 1;
            }
            else
            {
                Assert.True(rest.Length >= end + 1 + 8, $"field {name} at offset {offset}: truncated length");
                ulong length = BinaryPrimitives.ReadUInt64LittleEndian(rest[(end + 1)..]);
                int start = end + 1 + 8;
                Assert.True(length <= (ulong)(rest.Length - start - 1), $"field {name} at offset {offset}: length {length} past the datagram's end");
                Assert.Equal((byte)'\n', rest[start + (int)length]);
                value = utf8.GetString(rest.Slice(start, (int)length));
                offset += start + (int)length + 1;
            }

            fields.Add(new(name, value));
        }

        return fields;
    }
}
