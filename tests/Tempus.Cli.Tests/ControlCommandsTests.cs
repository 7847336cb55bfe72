using System.Text.Json;
using Tempus.Control;

namespace Tempus.Cli.Tests;

/// <summary>The tempusctl verbs' code, in process, against a real ControlServer.</summary>
public sealed class ControlCommandsTests : IAsyncLifetime
{
    private ControlFixture _fixture = null!;
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    public Task InitializeAsync()
    {
        _fixture = ControlFixture.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    private ControlClient Client => new(_fixture.SocketPath);

    [Fact]
    public async Task TrackingPrintsTheDaemonsReport()
    {
        Assert.Equal(0, await TrackingCommand.RunAsync(Client, json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(ControlViews.Tracking(KnownReports.Tracking, csv: false), _out.ToString());
        Assert.Empty(_err.ToString());
    }

    [Fact]
    public async Task EachSourceViewPrintsItsProjection()
    {
        Assert.Equal(0, await SourcesCommand.RunAsync(Client, verbose: false, json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await SourceStatsCommand.RunAsync(Client, verbose: false, json: false, csv: true, _out, _err, CancellationToken.None));
        Assert.Equal(0, await SelectDataCommand.RunAsync(Client, verbose: true, json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await AuthDataCommand.RunAsync(Client, verbose: false, json: false, csv: false, _out, _err, CancellationToken.None));

        Assert.Equal(
            ControlViews.Sources(KnownReports.Sources, false, false) + ControlViews.SourceStats(KnownReports.Sources, false, true)
            + ControlViews.SelectData(KnownReports.Sources, true, false) + ControlViews.AuthData(KnownReports.Sources, false, false),
            _out.ToString());
    }

    [Fact]
    public async Task NtpDataOfOneAddressAndOfAnUnknownOne()
    {
        Assert.Equal(0, await NtpDataCommand.RunAsync(Client, "192.0.2.1", json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(ControlViews.NtpData([KnownReports.Sources[0]], blankLineBefore: false, csv: false), _out.ToString());

        var output = new StringWriter();
        Assert.Equal(1, await NtpDataCommand.RunAsync(Client, "198.51.100.99", json: false, csv: false, output, _err, CancellationToken.None));
        Assert.Equal("503 No such source\n", output.ToString());
        Assert.Contains("no source has the address or name '198.51.100.99'", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActivityServerStatsAndClientsPrintTheirViews()
    {
        Assert.Equal(0, await ActivityCommand.RunAsync(Client, json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await ServerStatsCommand.RunAsync(Client, json: true, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await ClientsCommand.RunAsync(Client, ntsKe: true, json: false, csv: false, _out, _err, CancellationToken.None));

        string[] parts = _out.ToString().Split('\n', 7);
        Assert.Equal(ControlViews.Activity(KnownReports.Activity, false), string.Join('\n', parts[..6]) + "\n");
        Assert.EndsWith(ControlViews.Clients(KnownReports.Clients, ntsKe: true, csv: false), _out.ToString(), StringComparison.Ordinal);
        string json = _out.ToString().Split('\n')[6];
        ServerStatsReport stats = JsonSerializer.Deserialize(json, ControlJsonContext.Default.ServerStatsReport)!;
        Assert.Equal(123456, stats.NtpPacketsReceived);
        Assert.True(stats.CommandPacketsReceived >= 2, "the server's own count replaces the handler's");
    }

    [Fact]
    public async Task ChangingVerbsPrint200OkAndReachTheDaemon()
    {
        Assert.Equal(0, await MakeStepCommand.RunAsync(Client, json: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await RekeyCommand.RunAsync(Client, json: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await ReloadCommand.RunAsync(Client, json: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await DumpCommand.RunAsync(Client, json: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await OnlineCommand.RunAsync(Client, "192.0.2.1", online: false, json: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await OnlineCommand.RunAsync(Client, null, online: true, json: true, _out, _err, CancellationToken.None));

        Assert.Equal("200 OK\n200 OK\n200 OK\n200 OK\n200 OK\n{\"status\":\"ok\",\"sources\":1}\n", _out.ToString());
        Assert.Equal(["makestep", "rekey", "reload sources", "dump", "offline 192.0.2.1", "online all"], _fixture.Handler.Actions);
    }

    [Fact]
    public async Task OfflineOfAnUnknownSourceIsChronycs503()
    {
        Assert.Equal(1, await OnlineCommand.RunAsync(Client, "nowhere.example", online: false, json: false, _out, _err, CancellationToken.None));

        Assert.Equal("503 No such source\n", _out.ToString());
        Assert.Equal("tempusctl: no source has the address or name nowhere.example\n", _err.ToString());
    }

    [Fact]
    public async Task WaitSyncSucceedsOnTheTryThatFindsTheDaemonSynchronized()
    {
        _fixture.Handler.SynchronizedFromCall = 3;

        Assert.Equal(0, await WaitSyncCommand.RunAsync(Client, maxTries: 5, maxCorrection: 0, maxSkew: 0, interval: 0.1, json: false, csv: false, _out, _err, CancellationToken.None));

        Assert.Equal(
            "try: 1, refid: 00000000, correction: 0.250000000, skew: 1.500\n"
            + "try: 2, refid: 00000000, correction: 0.250000000, skew: 1.500\n"
            + "try: 3, refid: C0000201, correction: 0.000001234, skew: 0.050\n",
            _out.ToString());
    }

    [Fact]
    public async Task WaitSyncFailsWhenTheTriesRunOut()
    {
        _fixture.Handler.SynchronizedFromCall = 0;

        Assert.Equal(1, await WaitSyncCommand.RunAsync(Client, maxTries: 2, maxCorrection: 0, maxSkew: 0, interval: 0, json: false, csv: false, _out, _err, CancellationToken.None));

        Assert.Equal(2, _out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task WaitSyncHonoursMaxCorrectionAndMaxSkew()
    {
        Assert.Equal(1, await WaitSyncCommand.RunAsync(Client, maxTries: 1, maxCorrection: 0.000001, maxSkew: 0, interval: 0.1, json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(1, await WaitSyncCommand.RunAsync(Client, maxTries: 1, maxCorrection: 0, maxSkew: 0.01, interval: 0.1, json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal(0, await WaitSyncCommand.RunAsync(Client, maxTries: 1, maxCorrection: 0.00001, maxSkew: 0.05, interval: 0.1, json: true, csv: false, _out, _err, CancellationToken.None));

        using JsonDocument last = JsonDocument.Parse(_out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.True(last.RootElement.GetProperty("synchronized").GetBoolean());
    }

    [Fact]
    public void LocalReferenceIsNotSynchronization()
    {
        Assert.False(WaitSyncCommand.IsSynchronized(KnownReports.Tracking with { ReferenceId = 0x7F7F0101 }, 0, 0));
        Assert.True(WaitSyncCommand.IsSynchronized(KnownReports.Tracking, 0, 0));
        Assert.False(WaitSyncCommand.IsSynchronized(new TrackingReport(), 0, 0));
    }

    [Fact]
    public async Task MissingSocketIsExitCode4WithTheQuestionToAsk()
    {
        var client = new ControlClient(Path.Combine(_fixture.Directory, "missing.sock"));

        Assert.Equal(ExitCodes.Unreachable, await TrackingCommand.RunAsync(client, json: false, csv: false, _out, _err, CancellationToken.None));
        Assert.Equal("506 Cannot talk to daemon\n", _out.ToString());
        Assert.Equal($"tempusctl: is tempusd running? socket {client.SocketPath} not found (give another path with --socket)\n", _err.ToString());
    }
}
