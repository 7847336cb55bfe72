// The logger is also fed through LoggerExtensions (FormattedLogValues state) on purpose, beside [LoggerMessage].
#pragma warning disable CA1848, CA1873, CA2254

using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Tempus.Daemon.Logging;

namespace Tempus.Daemon.Tests;

/// <summary>
/// The journal's native protocol as tempusd speaks it (systemd.io/JOURNAL_NATIVE_PROTOCOL): entries sent to a
/// datagram socket this test binds in place of journald's (there is no journald on the test machine), received as
/// journald receives them (a datagram, or an empty one carrying a sealed memfd), then parsed back field by field with
/// a strict reader.
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

        List<KeyValuePair<string, string>> fields = Parse(ReceiveBytes());
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
        string message = string.Concat(Enumerable.Repeat("0123456789", 60_000));
        _provider.CreateLogger("c").Log(LogLevel.Information, new EventId(1), state, null, (_, _) => message);

        // Each cut value ends in the marker, within its bound: whole characters make room for it.
        List<KeyValuePair<string, string>> fields = Receive();
        Assert.Equal(message[..(JournalEntry.MaxMessageBytes - 3)] + JournalEntry.CutMarker, Single(fields, "MESSAGE"));
        Assert.Equal(new string('a', JournalEntry.MaxValueBytes - 3) + JournalEntry.CutMarker, Single(fields, "TEMPUS_ASCII"));
        Assert.Equal(new string('€', (JournalEntry.MaxValueBytes / 3) - 1) + JournalEntry.CutMarker, Single(fields, "TEMPUS_EURO")); // 3 bytes each: 4092 + 3 of 4096
        Assert.Equal(string.Concat(Enumerable.Repeat("line\n", 2_000))[..(JournalEntry.MaxValueBytes - 3)] + JournalEntry.CutMarker, Single(fields, "TEMPUS_LINES"));
    }

    [Fact]
    public void AValueThatFitsItsBoundExactlyIsNotMarked()
    {
        var state = new List<KeyValuePair<string, object?>> { new("Exact", new string('x', JournalEntry.MaxValueBytes)) };
        _provider.CreateLogger("c").Log(LogLevel.Information, new EventId(1), state, null, (_, _) => "m");
        Assert.Equal(new string('x', JournalEntry.MaxValueBytes), Single(Receive(), "TEMPUS_EXACT"));
    }

    [Fact]
    public void TheEntryStaysWithinItsBoundKeepsTheMessageAndTheValuesAndCutsTheExceptionsSecondCopy()
    {
        var state = new List<KeyValuePair<string, object?>>();
        for (int i = 0; i < 100; i++)
        {
            state.Add(new($"Value{i}", new string((char)('a' + (i % 26)), 5_000)));
        }

        string message = new('m', 600_000);
        var exception = new InvalidOperationException(new string('e', 700_000));
        _provider.CreateLogger("c").Log(LogLevel.Warning, new EventId(1), state, exception, (_, _) => message);

        (byte[] entry, bool memfd) = ReceiveEntry();
        Assert.True(memfd, "an entry of a megabyte is not one datagram");
        Assert.InRange(entry.Length, JournalEntry.MaxEntryBytes - 16, JournalEntry.MaxEntryBytes);
        List<KeyValuePair<string, string>> fields = Parse(entry);
        Assert.Equal(message[..(JournalEntry.MaxMessageBytes - 3)] + JournalEntry.CutMarker, Single(fields, "MESSAGE"));
        Assert.Equal("4", Single(fields, "PRIORITY"));

        // The template's values come before the exception's copy, all of them, each cut at its bound.
        List<KeyValuePair<string, string>> values = fields.Where(f => f.Key.StartsWith("TEMPUS_VALUE", StringComparison.Ordinal)).ToList();
        Assert.Equal(JournalEntry.MaxTemplateValues, values.Count);
        for (int i = 0; i < values.Count; i++)
        {
            Assert.Equal($"TEMPUS_VALUE{i}", values[i].Key);
            Assert.Equal(new string((char)('a' + (i % 26)), JournalEntry.MaxValueBytes - 3) + JournalEntry.CutMarker, values[i].Value);
        }

        // The exception, last, is cut where the entry is full.
        Assert.Equal("TEMPUS_EXCEPTION", fields[^1].Key);
        string cut = fields[^1].Value;
        Assert.EndsWith(JournalEntry.CutMarker, cut, StringComparison.Ordinal);
        Assert.StartsWith(cut[..^1], exception.ToString(), StringComparison.Ordinal);
        Assert.InRange(cut.Length, 300_000, JournalEntry.MaxMessageBytes);
        Assert.Empty(_stderr.ToArray());
    }

    [Fact]
    public void AnEntryTooLargeForADatagramIsSentAsASealedMemfdInAnEmptyDatagram()
    {
        // A message of 300 KiB: over the kernel's limit for a unix datagram (the socket's send buffer).
        string message = "first line\n" + new string('x', 300 * 1024);
        AssertLargerThanADatagram(message.Length);
        LogKeyMissing(_provider.CreateLogger("Tempus.Sources.SourceManager"), message, 21, "/etc/tempus/keys", IPAddress.Loopback, 0.25, "x");

        (byte[] entry, bool memfd) = ReceiveEntry();
        Assert.True(memfd, "the entry came as a datagram");
        List<KeyValuePair<string, string>> fields = Parse(entry);
        Assert.Equal($"{message}: key 21 is not in /etc/tempus/keys (127.0.0.1, offset 0.25 s, x)", Single(fields, "MESSAGE"));
        Assert.Equal("4", Single(fields, "PRIORITY"));
        Assert.Equal("tempusd", Single(fields, "SYSLOG_IDENTIFIER"));
        Assert.Equal("712", Single(fields, "TEMPUS_EVENT_ID"));
        Assert.Equal(message[..(JournalEntry.MaxValueBytes - 3)] + JournalEntry.CutMarker, Single(fields, "TEMPUS_SOURCE"));
        Assert.Equal("21", Single(fields, "TEMPUS_KEYID"));
        Assert.Empty(_stderr.ToArray());
        Assert.True(_provider.Output.UsesJournal);

        // The next, small entry is a datagram again.
        _provider.CreateLogger("c").LogInformation("small");
        (entry, memfd) = ReceiveEntry();
        Assert.False(memfd, "a small entry came through a memfd");
        Assert.Equal("small", Single(Parse(entry), "MESSAGE"));
    }

    [Fact]
    public void WhenTheJournalSocketIsMissingALargeEntryGoesToStderr()
    {
        var stderr = new MemoryStream();
        using var provider = new TempusLoggerProvider(new LogOutput(stderr, Path.Combine(_dir, "no-journal-here"), new FixedTime(s_now)));
        string message = new('x', 300 * 1024);
        AssertLargerThanADatagram(message.Length);
        provider.CreateLogger("c").Log(LogLevel.Error, new EventId(5), message, null, (m, _) => m);
        Assert.Equal($"<3>c[5] {message}\n", Encoding.UTF8.GetString(stderr.ToArray()));
    }

    [Fact]
    public void WhenTheJournalsQueueIsFullALargeEntryGoesToStderr()
    {
        // Nothing reads the socket: small entries fill its queue (net.unix.max_dgram_qlen), after which they reach
        // stderr; the descriptor of a large entry's memfd finds the queue full too.
        ILogger logger = _provider.CreateLogger("c");
        for (int i = 0; i < 2_000 && _stderr.Length == 0; i++)
        {
            logger.LogInformation("filler {Index}", i);
        }

        Assert.True(_stderr.Length > 0, "the journal socket's queue never filled");
        _stderr.SetLength(0);
        string message = new('y', 300 * 1024);
        AssertLargerThanADatagram(message.Length);
        logger.Log(LogLevel.Information, new EventId(6), message, null, (m, _) => m);
        Assert.Equal($"<6>c[6] {message}\n", Encoding.UTF8.GetString(_stderr.ToArray()));
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
        byte[] buffer = new byte[JournalEntry.MaxEntryBytes];
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

    // An entry however it came, a datagram or a memfd.
    private List<KeyValuePair<string, string>> Receive() => Parse(ReceiveEntry().Entry);

    private byte[] ReceiveBytes()
    {
        (byte[] entry, bool memfd) = ReceiveEntry();
        Assert.False(memfd, "the entry came through a memfd, not as a datagram");
        return entry;
    }

    /// <summary>
    /// One entry as journald takes it from its socket: a datagram with no descriptor, or (<c>memfd</c> true) an empty
    /// datagram with one descriptor of a memfd sealed as journald requires, whose content is the entry.
    /// </summary>
    private (byte[] Entry, bool Memfd) ReceiveEntry()
    {
        _journal.ReceiveTimeout = 10_000;
        byte[] buffer = new byte[JournalEntry.MaxEntryBytes + 1];
        int errno = Interop.Libc.ReceiveWithFileDescriptor(_journal.SafeHandle, buffer, out int received, out SafeFileHandle? fd, out int descriptors, out bool truncated);
        Assert.True(errno == 0, $"recvmsg on the test journal socket failed with errno {errno}");
        Assert.False(truncated, "the datagram or its control data was cut");
        if (fd is null)
        {
            Assert.Equal(0, descriptors);
            return (buffer[..received], false);
        }

        using (fd)
        {
            // journald (manager_process_datagram): an empty datagram and exactly one descriptor, here a memfd sealed
            // so that it can be mapped as it is.
            Assert.Equal(0, received);
            Assert.Equal(1, descriptors);
            Assert.Equal("/memfd:tempusd-journal (deleted)", new FileInfo($"/proc/self/fd/{fd.DangerousGetHandle()}").LinkTarget);
            Assert.Equal(0, Interop.Libc.GetSeals(fd, out int seals));
            Assert.Equal(Interop.Libc.F_SEAL_SHRINK | Interop.Libc.F_SEAL_GROW | Interop.Libc.F_SEAL_WRITE | Interop.Libc.F_SEAL_SEAL, seals);
            long length = RandomAccess.GetLength(fd);
            Assert.InRange(length, 1, JournalEntry.MaxEntryBytes);
            byte[] entry = new byte[length];
            int total = 0;
            while (total < entry.Length)
            {
                int n = RandomAccess.Read(fd, entry.AsSpan(total), total);
                Assert.True(n > 0, $"the memfd ended at {total} of its {length} bytes");
                total += n;
            }

            return (entry, true);
        }
    }

    // The kernel refuses a unix datagram larger than the sender's send buffer (net.core.wmem_default for a new
    // socket) with EMSGSIZE; the tests' large entries must be larger than that to take the memfd path.
    private static void AssertLargerThanADatagram(int entryBytes)
    {
        int sendBuffer = int.Parse(File.ReadAllText("/proc/sys/net/core/wmem_default").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(entryBytes > sendBuffer, $"net.core.wmem_default is {sendBuffer}: an entry of {entryBytes} bytes fits one datagram here, so this test cannot reach the memfd path");
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
