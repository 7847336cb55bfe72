using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Control;

namespace Tempus.Tests.Control;

/// <summary>The <c>clients</c> request's arguments: <c>-p</c> reaches the handler, <c>-r</c> needs root or the daemon's user.</summary>
public sealed class ClientsRequestTests
{
    private const uint DaemonUid = 990;
    private static readonly PeerCredentials s_root = new(1, 0, 0);
    private static readonly PeerCredentials s_user = new(3, 1000, 1000);
    private readonly FakeControlHandler _handler = new();

    private async Task<ControlResponse> SendAsync(string json, PeerCredentials peer)
    {
        var dispatcher = new ControlDispatcher(_handler, DaemonUid, TimeSpan.FromSeconds(10), NullLogger.Instance, () => (0, 0));
        return (await dispatcher.HandleAsync(Encoding.UTF8.GetBytes(json), peer, CancellationToken.None)).Response;
    }

    [Fact]
    public async Task AnyoneMayListClientsWithAMinimumPacketCount()
    {
        ControlResponse response = await SendAsync("{\"version\":1,\"command\":\"clients\",\"args\":{\"ntsKe\":true,\"minPackets\":5}}", s_user);

        Assert.True(response.IsOk, response.Error);
        Assert.Equal(new ClientQuery(NtsKe: true, MinPackets: 5, Reset: false), _handler.LastClientQuery);
    }

    [Fact]
    public async Task ResettingTheCountersIsRefusedToOtherUsersAndTheHandlerIsNotCalled()
    {
        ControlResponse response = await SendAsync("{\"version\":1,\"command\":\"clients\",\"args\":{\"reset\":true}}", s_user);

        Assert.False(response.IsOk);
        Assert.Equal(ControlErrorCodes.NotAuthorised, response.Code);
        Assert.Contains("'clients -r' changes the daemon's state", response.Error, StringComparison.Ordinal);
        Assert.Null(_handler.LastClientQuery);
        Assert.False(ControlAuthorization.IsAllowed(ControlCommands.Clients, new ControlRequestArgs { Reset = true }, 1000, DaemonUid));
        Assert.True(ControlAuthorization.IsAllowed(ControlCommands.Clients, new ControlRequestArgs { Reset = true }, DaemonUid, DaemonUid));
    }

    [Fact]
    public async Task RootMayResetAndNoMinimumMeansEveryClient()
    {
        ControlResponse response = await SendAsync("{\"version\":1,\"command\":\"clients\",\"args\":{\"reset\":true}}", s_root);

        Assert.True(response.IsOk, response.Error);
        Assert.Equal(new ClientQuery(NtsKe: false, MinPackets: 1, Reset: true), _handler.LastClientQuery);
    }

    [Fact]
    public async Task ANegativeMinimumIsAnInvalidRequest()
    {
        ControlResponse response = await SendAsync("{\"version\":1,\"command\":\"clients\",\"args\":{\"minPackets\":-3}}", s_root);

        Assert.Equal(ControlErrorCodes.Invalid, response.Code);
        Assert.Equal("clients: minPackets -3 is negative", response.Error);
        Assert.Null(_handler.LastClientQuery);
    }
}
