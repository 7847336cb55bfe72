using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Cli.Tests;

/// <summary>The exit-code and output contract of <c>tempusctl query</c>, against servers on loopback.</summary>
public sealed class QueryCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempusctl-query-").FullName;
    private readonly string _keyFile;
    private readonly KeyRing _keys;

    public QueryCommandTests()
    {
        _keyFile = Path.Combine(_dir, "keys");
        File.WriteAllText(_keyFile, "11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233\n21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
    }

    public void Dispose()
    {
        _keys.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static UdpNtpServer Serve(KeyRing keys, bool cryptoNak = false, int? stratum = 4)
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        var server = new UdpNtpServer(
            new NtpServerEngine(RealtimeClock.Instance, keys, access, cryptoNak, now => stratum is int s ? ReferenceState.Local(s, now) : ReferenceState.Unsynchronized),
            RealtimeClock.Instance,
            [new IPEndPoint(IPAddress.Loopback, 0)],
            NullLogger.Instance);
        server.Start();
        return server;
    }

    private static string Port(UdpNtpServer server) => server.LocalEndpoints[0].Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task AuthenticatedQueryPrintsTheJsonContract()
    {
        using UdpNtpServer server = Serve(_keys);
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--port", Port(server), "--key", "11", "--keyfile", _keyFile, "--json");

        Assert.Equal(0, result.ExitCode);
        using JsonDocument json = JsonDocument.Parse(result.Stdout);
        JsonElement root = json.RootElement;
        Assert.Equal("symmetric-key", root.GetProperty("authentication").GetString());
        Assert.Equal(11, root.GetProperty("keyId").GetInt32());
        Assert.Equal("SHA1", root.GetProperty("keyType").GetString());
        Assert.Equal(4, root.GetProperty("stratum").GetInt32());
        Assert.Equal("none", root.GetProperty("leap").GetString());
        Assert.Equal("127.127.1.1", root.GetProperty("refid").GetString());
        Assert.InRange(root.GetProperty("delay").GetDouble(), 0, 1);
        Assert.InRange(Math.Abs(root.GetProperty("offset").GetDouble()), 0, 1);
    }

    [Fact]
    public async Task PlainQueryPrintsTheResultAndSaysItIsNotAuthenticated()
    {
        using UdpNtpServer server = Serve(_keys);
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--port", Port(server), "--samples", "2", "--interval", "0");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("stratum 4", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("authenticated: no", result.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, result.Stdout.Split('\n').Count(l => l.StartsWith("sample:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task UnknownKeyAtAServerThatDropsIsATimeout()
    {
        using var trusting21 = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        trusting21.SetTrustedKeys([21]);
        using UdpNtpServer server = Serve(trusting21);
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--port", Port(server), "--key", "11", "--keyfile", _keyFile, "--timeout", "0.5");
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("no response", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownKeyAtAServerThatNaksIsExitSix()
    {
        using var trusting21 = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        trusting21.SetTrustedKeys([21]);
        using UdpNtpServer server = Serve(trusting21, cryptoNak: true);
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--port", Port(server), "--key", "11", "--keyfile", _keyFile);
        Assert.Equal(6, result.ExitCode);
        Assert.Contains("crypto-NAK", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsynchronizedServerIsExitEight()
    {
        using UdpNtpServer server = Serve(_keys, stratum: null);
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--port", Port(server));
        Assert.Equal(8, result.ExitCode);
        Assert.Contains("not synchronized", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClosedPortIsExitFour()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(4, result.ExitCode);
        Assert.Contains("unreachable", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KissOfDeathIsExitSeven()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Task responder = Task.Run(() =>
        {
            byte[] buffer = new byte[512];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int n = socket.ReceiveFrom(buffer, ref from);
            NtpPacketHeader.TryRead(buffer.AsSpan(0, n), out NtpPacketHeader request);
            var kod = new NtpPacketHeader { Version = 4, Mode = NtpMode.Server, Stratum = 0, ReferenceId = KissCode.Rate, OriginTimestamp = request.TransmitTimestamp };
            kod.TryWrite(buffer, out int length);
            socket.SendTo(buffer.AsSpan(0, length), from);
        });
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--port", ((IPEndPoint)socket.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await responder;
        Assert.Equal(7, result.ExitCode);
        Assert.Contains("RATE", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyMissingFromTheKeyFileIsExitNine()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--key", "5", "--keyfile", _keyFile);
        Assert.Equal(9, result.ExitCode);
        Assert.Contains("key 5 is not in", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreadableKeyFileIsExitNineAndNamesTheFile()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("query", "127.0.0.1", "--key", "5", "--keyfile", Path.Combine(_dir, "missing"));
        Assert.Equal(9, result.ExitCode);
        Assert.Contains(Path.Combine(_dir, "missing"), result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("query")]
    [InlineData("query", "127.0.0.1", "--key", "1")]
    [InlineData("query", "127.0.0.1", "--samples", "0")]
    [InlineData("query", "127.0.0.1", "--timeout", "-1")]
    [InlineData("query", "127.0.0.1", "--port", "70000")]
    [InlineData("query", "127.0.0.1", "--bogus")]
    public async Task BadQueryArgumentsAreUsageErrors(params string[] args)
    {
        Tempusctl.Result result = await Tempusctl.RunAsync(args);
        Assert.Equal(2, result.ExitCode);
        Assert.NotEmpty(result.Stderr);
    }
}
