using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Control;

namespace Tempus.Tests.Control;

/// <summary>Version checks, authorization and dispatch of one request, with no socket.</summary>
public sealed class ControlDispatcherTests
{
    private const uint DaemonUid = 990;
    private static readonly PeerCredentials s_root = new(1, 0, 0);
    private static readonly PeerCredentials s_daemon = new(2, DaemonUid, DaemonUid);
    private static readonly PeerCredentials s_user = new(3, 1000, 1000);

    private readonly FakeControlHandler _handler = new();

    private ControlDispatcher Dispatcher(TimeSpan? timeout = null) =>
        new(_handler, DaemonUid, timeout ?? TimeSpan.FromSeconds(10), NullLogger.Instance, () => (7, 2));

    private async Task<(ControlResponse Response, bool Dropped)> SendAsync(string json, PeerCredentials peer, CancellationToken cancellationToken = default) =>
        await Dispatcher().HandleAsync(Encoding.UTF8.GetBytes(json), peer, cancellationToken);

    [Theory]
    [InlineData("makestep")]
    [InlineData("rekey")]
    [InlineData("reload-sources")]
    [InlineData("dump")]
    [InlineData("online")]
    [InlineData("offline")]
    public void ChangingCommandsAreAllowedOnlyToRootAndTheDaemonsUser(string command)
    {
        Assert.True(ControlAuthorization.IsAllowed(command, 0, DaemonUid));
        Assert.True(ControlAuthorization.IsAllowed(command, DaemonUid, DaemonUid));
        Assert.False(ControlAuthorization.IsAllowed(command, 1000, DaemonUid));
        Assert.False(ControlAuthorization.IsAllowed(command, 65534, DaemonUid));
    }

    [Theory]
    [InlineData("tracking")]
    [InlineData("sources")]
    [InlineData("activity")]
    [InlineData("serverstats")]
    [InlineData("clients")]
    public void MonitoringCommandsAreAllowedToAnyone(string command)
    {
        Assert.True(ControlAuthorization.IsAllowed(command, 1000, DaemonUid));
    }

    [Fact]
    public async Task NonRootPeerCannotRunMakestepAndTheHandlerIsNotCalled()
    {
        (ControlResponse response, bool dropped) = await SendAsync("{\"version\":1,\"command\":\"makestep\"}", s_user);

        Assert.False(response.IsOk);
        Assert.Equal(ControlErrorCodes.NotAuthorised, response.Code);
        Assert.Contains("not uid 1000", response.Error, StringComparison.Ordinal);
        Assert.False(dropped);
        Assert.Empty(_handler.Actions);
    }

    [Fact]
    public async Task RootAndTheDaemonsUserRunMakestep()
    {
        Assert.True((await SendAsync("{\"version\":1,\"command\":\"makestep\"}", s_root)).Response.IsOk);
        Assert.True((await SendAsync("{\"version\":1,\"command\":\"makestep\"}", s_daemon)).Response.IsOk);
        Assert.Equal(["makestep", "makestep"], _handler.Actions);
    }

    [Fact]
    public async Task UnknownVersionNamesTheSupportedVersions()
    {
        (ControlResponse response, bool dropped) = await SendAsync("{\"version\":2,\"command\":\"tracking\"}", s_user);

        Assert.Equal(ControlErrorCodes.BadVersion, response.Code);
        Assert.Equal([1], response.SupportedVersions!);
        Assert.Contains("version 2 is not supported", response.Error, StringComparison.Ordinal);
        Assert.Contains("speaks version 1", response.Error, StringComparison.Ordinal);
        Assert.True(dropped);
    }

    [Fact]
    public async Task MissingVersionIsRejected()
    {
        (ControlResponse response, _) = await SendAsync("{\"command\":\"tracking\"}", s_user);

        Assert.Equal(ControlErrorCodes.BadVersion, response.Code);
        Assert.Contains("no \"version\"", response.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedJsonIsAnInvalidRequestAndCountsAsDropped()
    {
        (ControlResponse response, bool dropped) = await SendAsync("{\"version\":1,", s_user);

        Assert.Equal(ControlErrorCodes.Invalid, response.Code);
        Assert.StartsWith("malformed control request", response.Error, StringComparison.Ordinal);
        Assert.True(dropped);
    }

    [Fact]
    public async Task UnknownCommandIsNamedWithoutItsControlCharacters()
    {
        (ControlResponse response, bool dropped) = await SendAsync("{\"version\":1,\"command\":\"shutdown\\u0007\"}", s_root);

        Assert.Equal(ControlErrorCodes.Invalid, response.Code);
        Assert.Equal("unknown control command 'shutdown?'", response.Error);
        Assert.True(dropped);
    }

    [Fact]
    public async Task TrackingDataIsTheHandlersReport()
    {
        (ControlResponse response, _) = await SendAsync("{\"version\":1,\"command\":\"tracking\"}", s_user);

        TrackingReport report = response.Data!.Value.Deserialize(ControlJsonContext.Default.TrackingReport)!;
        Assert.Equal(_handler.Tracking with { }, report);
        Assert.Equal("NoWarning", response.Data.Value.GetProperty("leap").GetString());
    }

    [Fact]
    public async Task ServerStatsCarryTheControlServersOwnCounters()
    {
        (ControlResponse response, _) = await SendAsync("{\"version\":1,\"command\":\"serverstats\"}", s_user);

        ServerStatsReport report = response.Data!.Value.Deserialize(ControlJsonContext.Default.ServerStatsReport)!;
        Assert.Equal(10, report.NtpPacketsReceived);
        Assert.Equal(7, report.CommandPacketsReceived);
        Assert.Equal(2, report.CommandPacketsDropped);
    }

    [Fact]
    public async Task OnlineWithAnAddressReachesTheHandlerAndUnknownAddressIsNoSuchSource()
    {
        (ControlResponse ok, _) = await SendAsync("{\"version\":1,\"command\":\"offline\",\"args\":{\"address\":\" 192.0.2.1 \"}}", s_root);
        (ControlResponse missing, _) = await SendAsync("{\"version\":1,\"command\":\"online\",\"args\":{\"address\":\"198.51.100.1\"}}", s_root);

        Assert.Equal(1, ok.Data!.Value.GetProperty("sources").GetInt32());
        Assert.Equal(["offline 192.0.2.1"], _handler.Actions);
        Assert.Equal(ControlErrorCodes.NoSuchSource, missing.Code);
    }

    [Fact]
    public async Task HandlerFailureIsReportedWithItsMessage()
    {
        (ControlResponse response, bool dropped) = await SendAsync("{\"version\":1,\"command\":\"dump\"}", s_root);

        Assert.Equal(ControlErrorCodes.Failed, response.Code);
        Assert.Contains("read-only file system", response.Error, StringComparison.Ordinal);
        Assert.False(dropped);
    }

    [Fact]
    public async Task UnexpectedHandlerExceptionDoesNotEscape()
    {
        _handler.MakeStepBehavior = _ => throw new InvalidOperationException("clock busy");

        (ControlResponse response, _) = await SendAsync("{\"version\":1,\"command\":\"makestep\"}", s_root);

        Assert.Equal(ControlErrorCodes.Failed, response.Code);
        Assert.Contains("clock busy", response.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandlerThatOutlivesTheRequestTimeoutIsReportedAsATimeout()
    {
        _handler.MakeStepBehavior = ct => Task.Delay(Timeout.Infinite, ct);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        (ControlResponse response, _) = await Dispatcher(TimeSpan.FromSeconds(3)).HandleAsync(Encoding.UTF8.GetBytes("{\"version\":1,\"command\":\"makestep\"}"), s_root, cts.Token);

        Assert.Equal(ControlErrorCodes.Timeout, response.Code);
        Assert.Equal("tempusd did not complete 'makestep' within 3 s", response.Error);
    }
}
