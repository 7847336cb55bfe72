using System.Diagnostics;
using System.Text.Json;
using Tempus.Control;

namespace Tempus.Cli.Tests;

/// <summary>The tempusctl binary against a real ControlServer: arguments, output, exit codes, and a non-root peer.</summary>
public sealed class TempusctlControlTests : IAsyncLifetime
{
    private const uint Nobody = 65534;
    private ControlFixture _fixture = null!;

    public Task InitializeAsync()
    {
        _fixture = ControlFixture.Start(group: "nogroup");

        // CreateTempSubdirectory makes a 0700 directory: let other users reach the socket's own directory, whose mode decides.
        File.SetUnixFileMode(_fixture.Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _fixture.DisposeAsync();

    [Fact]
    public async Task TrackingWithTheGlobalSocketOptionBeforeTheVerb()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "tracking");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(ControlViews.Tracking(KnownReports.Tracking, csv: false), result.Stdout);
    }

    [Fact]
    public async Task SourcesJsonAfterTheVerbParses()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("sources", "--json", "--socket", _fixture.SocketPath);

        Assert.Equal(0, result.ExitCode);
        SourceReport[] sources = JsonSerializer.Deserialize(result.Stdout, ControlJsonContext.Default.SourceReportArray)!;
        Assert.Equal(KnownReports.Sources, sources);
    }

    [Fact]
    public async Task SelectDataCsvWithV()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "selectdata", "-v", "-c");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(ControlViews.SelectData(KnownReports.Sources, verbose: false, csv: true), result.Stdout);
    }

    [Fact]
    public async Task CsvBeforeTheVerbAsWithChronycMinusC()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("-c", "--socket", _fixture.SocketPath, "tracking");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(ControlViews.Tracking(KnownReports.Tracking, csv: true), result.Stdout);
    }

    [Fact]
    public async Task MinusNShowsSourcesByAddressAndMinusAIsAcceptedAsByChronyc()
    {
        Tempusctl.Result numeric = await Tempusctl.RunAsync("-n", "--socket", _fixture.SocketPath, "sources", "-a");
        Tempusctl.Result named = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "sources");

        Assert.Equal(0, numeric.ExitCode);
        SourceReport[] byAddress = [.. KnownReports.Sources.Select(s => s with { Name = s.Address })];
        Assert.Equal(ControlViews.Sources(byAddress, verbose: false, csv: false), numeric.Stdout);
        Assert.Contains("192.0.2.1", numeric.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("ntp1.example.com", numeric.Stdout, StringComparison.Ordinal);
        Assert.Equal(ControlViews.Sources(KnownReports.Sources, verbose: false, csv: false), named.Stdout);
        Assert.Contains("ntp1.example.com", named.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReloadSourcesPrints200OkAndReloadOfAnythingElseIsUsage()
    {
        Tempusctl.Result ok = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "reload", "sources");
        Tempusctl.Result bad = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "reload", "keys");

        Assert.Equal(0, ok.ExitCode);
        Assert.Equal("200 OK\n", ok.Stdout);
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
        Assert.Equal(["reload sources"], _fixture.Handler.Actions);
    }

    [Fact]
    public async Task WaitSyncExitsZeroOnceSynchronized()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "waitsync", "3", "0", "0", "0.1");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("try: 1, refid: C0000201, correction: 0.000001234, skew: 0.050\n", result.Stdout);
    }

    [Fact]
    public async Task MissingSocketExitsWithUnreachable()
    {
        string path = Path.Combine(_fixture.Directory, "nothing-here.sock");
        Tempusctl.Result result = await Tempusctl.RunAsync("--socket", path, "sourcestats");

        Assert.Equal(ExitCodes.Unreachable, result.ExitCode);
        Assert.Equal("506 Cannot talk to daemon\n", result.Stdout);
        Assert.Contains($"is tempusd running? socket {path} not found", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpOfAViewDocumentsTheExitCodes()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("tracking", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("4 tempusd not reachable", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("--socket", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupMemberWhoIsNotRootMayMonitorButNotMakestep()
    {
        Result monitor = await RunAsUserAsync(Nobody, Nobody, "--socket", _fixture.SocketPath, "activity");
        Result step = await RunAsUserAsync(Nobody, Nobody, "--socket", _fixture.SocketPath, "makestep");

        Assert.Equal(0, monitor.ExitCode);
        Assert.Equal(ControlViews.Activity(KnownReports.Activity, csv: false), monitor.Stdout);
        Assert.Equal(ExitCodes.NotPermitted, step.ExitCode);
        Assert.Equal("501 Not authorised\n", step.Stdout);
        Assert.Contains("only root or the daemon's user", step.Stderr, StringComparison.Ordinal);
        Assert.Empty(_fixture.Handler.Actions);
    }

    [Fact]
    public async Task ClientsResetAsChronycMinusRIsAChangingCommand()
    {
        Result user = await RunAsUserAsync(Nobody, Nobody, "--socket", _fixture.SocketPath, "clients", "-r");
        Assert.Equal(ExitCodes.NotPermitted, user.ExitCode);
        Assert.Contains("'clients -r' changes the daemon's state", user.Stderr, StringComparison.Ordinal);
        Assert.Empty(_fixture.Handler.Actions);

        // Listing stays open to the group; root may reset, with -p and -k passed through.
        Result list = await RunAsUserAsync(Nobody, Nobody, "--socket", _fixture.SocketPath, "clients", "-p", "3");
        Tempusctl.Result reset = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "clients", "-k", "-p", "3", "-r");
        Assert.Equal(0, list.ExitCode);
        Assert.Equal(0, reset.ExitCode);
        Assert.Equal(ControlViews.Clients(KnownReports.Clients, ntsKe: true, csv: false), reset.Stdout);
        Assert.Equal(["clients -r -p 3 -k"], _fixture.Handler.Actions);
    }

    [Fact]
    public async Task ClientsWithANegativePacketCountIsAUsageError()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("--socket", _fixture.SocketPath, "clients", "-p", "-1");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("-p: -1 is negative", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserOutsideTheSocketsGroupIsToldWhichGroupToJoin()
    {
        Result result = await RunAsUserAsync(Nobody, 12345, "--socket", _fixture.SocketPath, "tracking");

        Assert.Equal(ExitCodes.NotPermitted, result.ExitCode);
        Assert.Contains($"permission denied on socket {_fixture.SocketPath}: run as root or a member of group nogroup", result.Stderr, StringComparison.Ordinal);
    }

    private sealed record Result(int ExitCode, string Stdout, string Stderr);

    // setpriv (util-linux) drops to another uid/gid with no supplementary groups: a real non-root peer for SO_PEERCRED.
    private static async Task<Result> RunAsUserAsync(uint uid, uint gid, params string[] args)
    {
        string tempusctl = Path.Combine(AppContext.BaseDirectory, "tempusctl");
        Assert.True(File.Exists("/usr/bin/setpriv"), "setpriv not found: install util-linux (apt-get install util-linux)");
        var info = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])[$"--reuid={uid}", $"--regid={gid}", "--clear-groups", tempusctl, .. args])
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["HOME"] = "/tmp";
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
