using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Control;

namespace Tempus.Tests.Control;

/// <summary>A real ControlServer on a socket in a temporary directory, driven by ControlClient and by raw bytes.</summary>
public sealed class ControlServerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-ctl-").FullName;
    private readonly FakeControlHandler _handler = new();
    private ControlServer? _server;

    private string SocketPath => Path.Combine(_dir, "run", "tempusd.sock");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private ControlServer Start(ControlServerOptions? options = null)
    {
        _server = new ControlServer(_handler, options ?? new ControlServerOptions { SocketPath = SocketPath }, NullLogger.Instance);
        _server.Start();
        return _server;
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath));
        return socket;
    }

    private static async Task<ControlResponse?> ReadResponseAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        byte[]? payload = await ControlFraming.ReadFrameAsync(stream, ControlProtocol.MaxMessageLength, timeout.Token);
        return payload is null ? null : ControlFraming.ParseResponse(payload);
    }

    private static async Task SendRawAsync(NetworkStream stream, byte[] bytes) => await stream.WriteAsync(bytes);

    [Fact]
    public async Task EveryCommandRoundTripsThroughTheSocket()
    {
        Start();
        var client = new ControlClient(SocketPath);

        Assert.Equal("127.0.0.1", (await client.GetTrackingAsync()).ReferenceName);
        Assert.Equal(2, (await client.GetSourcesAsync()).Count);
        Assert.Equal(new ActivityReport(2, 1, 0, 0, 1), await client.GetActivityAsync());
        Assert.Equal(3, (await client.GetClientsAsync(ntsKe: true))[0].NtsKeRequests);
        Assert.Equal(0, (await client.MakeStepAsync()).Sources);
        Assert.Equal(1, (await client.RekeyAsync()).Sources);
        Assert.Equal(0, (await client.ReloadSourcesAsync()).Sources);
        Assert.Equal(2, (await client.SetOnlineAsync(null, online: false)).Sources);
        var dump = await Assert.ThrowsAsync<ControlClientException>(() => client.DumpAsync());
        Assert.Equal(ControlClientError.CommandFailed, dump.Error);
        var missing = await Assert.ThrowsAsync<ControlClientException>(() => client.SetOnlineAsync("198.51.100.7", online: true));
        Assert.Equal(ControlErrorCodes.NoSuchSource, missing.Code);

        ServerStatsReport stats = await client.GetServerStatsAsync();
        Assert.Equal(11, stats.CommandPacketsReceived); // ten requests before this one, and this one
        Assert.Equal(0, stats.CommandPacketsDropped);
        Assert.Equal(["makestep", "rekey", "reload", "offline *"], _handler.Actions);
    }

    [Fact]
    public async Task SocketIsOwnerOnlyAndItsDirectoryPrivateWithoutAGroup()
    {
        Start();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SocketPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(SocketPath)!));
    }

    [Fact]
    public async Task SocketIsGroupReadableWritableWithAGroupAndTheDirectoryGetsThatGroup()
    {
        uint gid = 0;
        string group = UnixGroups.TryGetGroupName(gid) ?? throw new InvalidOperationException("/etc/group has no gid 0");
        Start(new ControlServerOptions { SocketPath = SocketPath, Group = group });

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(SocketPath));
        string dir = Path.GetDirectoryName(SocketPath)!;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, File.GetUnixFileMode(dir));
        Assert.Equal(0, Interop.Libc.GetOwnership(SocketPath, out _, out uint socketGid, out _));
        Assert.Equal(gid, socketGid);
        Assert.Equal(0, Interop.Libc.GetOwnership(dir, out _, out uint dirGid, out _));
        Assert.Equal(gid, dirGid);
    }

    [Fact]
    public void UnknownGroupIsRefusedWithTheCommandToCreateIt()
    {
        var server = new ControlServer(_handler, new ControlServerOptions { SocketPath = SocketPath, Group = "no-such-group-tempus" }, NullLogger.Instance);

        var e = Assert.Throws<ControlServerException>(server.Start);
        Assert.Contains("groupadd no-such-group-tempus", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondDaemonOnTheSameSocketIsRefusedAndTheFirstKeepsServing()
    {
        Start();
        var second = new ControlServer(_handler, new ControlServerOptions { SocketPath = SocketPath }, NullLogger.Instance);

        var e = Assert.Throws<ControlServerException>(second.Start);
        Assert.Contains("another daemon is already listening", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await new ControlClient(SocketPath).GetTrackingAsync()).Stratum);
    }

    [Fact]
    public async Task StaleSocketWithNothingListeningIsReplaced()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(SocketPath)); // bound, never listening: connect is refused
            Assert.True(File.Exists(SocketPath));
            Start();

            // Inside the using: disposing a bound Socket unlinks its path, which is now the new server's.
            Assert.Equal(2, (await new ControlClient(SocketPath).GetTrackingAsync()).Stratum);
        }
    }

    [Fact]
    public void RegularFileAtTheSocketPathIsNeverRemoved()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
        File.WriteAllText(SocketPath, "precious");
        var server = new ControlServer(_handler, new ControlServerOptions { SocketPath = SocketPath }, NullLogger.Instance);

        var e = Assert.Throws<ControlServerException>(server.Start);
        Assert.Contains("is not a socket", e.Message, StringComparison.Ordinal);
        Assert.Equal("precious", File.ReadAllText(SocketPath));
    }

    [Fact]
    public async Task StopRemovesTheSocketFile()
    {
        ControlServer server = Start();
        Assert.True(File.Exists(SocketPath));

        await server.StopAsync();

        Assert.False(File.Exists(SocketPath));
        var e = await Assert.ThrowsAsync<ControlClientException>(() => new ControlClient(SocketPath).GetTrackingAsync());
        Assert.Equal(ControlClientError.SocketNotFound, e.Error);
        Assert.Equal($"is tempusd running? socket {SocketPath} not found (give another path with --socket)", e.Message);
    }

    [Fact]
    public async Task GarbageOnOneConnectionDoesNotStopTheServer()
    {
        ControlServer server = Start();

        // Bad JSON: an error response, and the same connection still works.
        using (Socket socket = await ConnectAsync())
        using (var stream = new NetworkStream(socket))
        {
            await SendRawAsync(stream, ControlFraming.Frame("not json at all"u8));
            ControlResponse? bad = await ReadResponseAsync(stream);
            Assert.Equal(ControlErrorCodes.Invalid, bad!.Code);

            await SendRawAsync(stream, ControlFraming.Frame("{\"version\":7,\"command\":\"tracking\"}"u8));
            Assert.Equal(ControlErrorCodes.BadVersion, (await ReadResponseAsync(stream))!.Code);

            await SendRawAsync(stream, ControlFraming.Frame("{\"version\":1,\"command\":\"tracking\"}"u8));
            Assert.True((await ReadResponseAsync(stream))!.IsOk);
        }

        // Oversize prefix: an error response, then the connection is closed.
        using (Socket socket = await ConnectAsync())
        using (var stream = new NetworkStream(socket))
        {
            byte[] prefix = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(prefix, uint.MaxValue);
            await SendRawAsync(stream, prefix);
            Assert.Equal(ControlErrorCodes.TooLarge, (await ReadResponseAsync(stream))!.Code);
            Assert.Null(await ReadResponseAsync(stream));
        }

        // Truncated: the peer goes away in the middle of a frame.
        using (Socket socket = await ConnectAsync())
        using (var stream = new NetworkStream(socket))
        {
            await SendRawAsync(stream, [0, 0, 0, 50, (byte)'{']);
            socket.Shutdown(SocketShutdown.Send);
            Assert.Null(await ReadResponseAsync(stream));
        }

        // Random bytes.
        var random = new Random(5);
        for (int i = 0; i < 20; i++)
        {
            using Socket socket = await ConnectAsync();
            using var stream = new NetworkStream(socket);
            byte[] junk = new byte[random.Next(1, 64)];
            random.NextBytes(junk);
            await SendRawAsync(stream, junk);
            socket.Shutdown(SocketShutdown.Send);
            try
            {
                while (await ReadResponseAsync(stream) is not null)
                {
                }
            }
            catch (IOException)
            {
                // The server closed with junk still unread (an oversize prefix): the peer sees a reset. Fine.
            }
        }

        Assert.Equal(2, (await new ControlClient(SocketPath).GetTrackingAsync()).Stratum);
        Assert.True(server.CommandPacketsDropped >= 4, $"dropped {server.CommandPacketsDropped}");
    }

    [Fact]
    public async Task ManyClientsAtOnceAreAllServedWithFewSlots()
    {
        Start(new ControlServerOptions { SocketPath = SocketPath, MaxConnections = 2 });
        var client = new ControlClient(SocketPath);

        TrackingReport[] reports = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.GetTrackingAsync()));

        Assert.All(reports, r => Assert.Equal(0x7F000001u, r.ReferenceId));
    }

    [Fact]
    public async Task IdleConnectionIsClosedAfterTheRequestTimeout()
    {
        Start(new ControlServerOptions { SocketPath = SocketPath, RequestTimeout = TimeSpan.FromMilliseconds(200) });
        using Socket socket = await ConnectAsync();
        using var stream = new NetworkStream(socket);

        Assert.Null(await ReadResponseAsync(stream));
    }

    [Fact]
    public async Task ClientThatReceivesAnotherVersionSaysSo()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
        using var fake = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        fake.Bind(new UnixDomainSocketEndPoint(SocketPath));
        fake.Listen();
        Task serve = Task.Run(async () =>
        {
            using Socket peer = await fake.AcceptAsync();
            using var stream = new NetworkStream(peer);
            _ = await ControlFraming.ReadFrameAsync(stream, ControlProtocol.MaxMessageLength, CancellationToken.None);
            await ControlFraming.WriteFrameAsync(stream, Encoding.UTF8.GetBytes("{\"version\":2,\"status\":\"ok\",\"data\":{}}"), CancellationToken.None);
        });

        var e = await Assert.ThrowsAsync<ControlClientException>(() => new ControlClient(SocketPath).GetTrackingAsync());
        await serve;

        Assert.Equal(ControlClientError.ProtocolMismatch, e.Error);
        Assert.Contains("speaks control protocol version 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NothingListeningOnAnExistingSocketIsConnectionRefused()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(SocketPath)!);
        using var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        stale.Bind(new UnixDomainSocketEndPoint(SocketPath));

        var e = await Assert.ThrowsAsync<ControlClientException>(() => new ControlClient(SocketPath).GetTrackingAsync());

        Assert.Equal(ControlClientError.ConnectionRefused, e.Error);
        Assert.Contains("nothing listens", e.Message, StringComparison.Ordinal);
    }
}
