using System.Text.Json;

namespace Tempus.Cli.Tests;

/// <summary>The output and exit-code contract of <c>tempusctl audit</c>, offline and against a missing daemon.</summary>
public sealed class AuditCommandTests : IDisposable
{
    private const string Clean = "server a.example nts iburst\nserver b.example nts iburst\nserver c.example nts iburst\nntsdumpdir /var/lib/chrony\nmakestep 1 3\nauthselectmode require\n";

    private readonly string _dir = Directory.CreateTempSubdirectory("tempusctl-audit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task TheSeedChronyConfFailsWithExitCodeTwoAndNamesThePool()
    {
        string config = Write("chrony.conf", "server time.cloudflare.com iburst nts\nserver nts.netnod.se iburst nts\npool 2.debian.pool.ntp.org iburst\nntsdumpdir /var/lib/chrony\nmakestep 1 3\n");
        Tempusctl.Result result = await Tempusctl.RunAsync("audit", "--config", config, "--offline");

        Assert.Equal(2, result.ExitCode);
        string poolLine = Assert.Single(result.Stdout.Split('\n'), l => l.StartsWith("failure", StringComparison.Ordinal));
        Assert.Contains("pool 2.debian.pool.ntp.org", poolLine, StringComparison.Ordinal);
        Assert.Contains("unauthenticated-source-can-steer", poolLine, StringComparison.Ordinal);
        Assert.Contains("can steer the clock", poolLine, StringComparison.Ordinal);
        Assert.Contains("fix: remove the 'pool 2.debian.pool.ntp.org' line or add 'nts' to it", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 failure(s)", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsonPrintsOnlyTheFindingsObject()
    {
        string config = Write("chrony.conf", Clean.Replace("makestep 1 3\n", ""));
        Tempusctl.Result result = await Tempusctl.RunAsync("audit", "--config", config, "--offline", "--json");

        Assert.Equal(1, result.ExitCode);
        using JsonDocument json = JsonDocument.Parse(result.Stdout);
        Assert.Equal(["findings"], json.RootElement.EnumerateObject().Select(p => p.Name));
        JsonElement[] findings = json.RootElement.GetProperty("findings").EnumerateArray().ToArray();
        Assert.All(findings, f => Assert.Equal(["severity", "source", "code", "message", "fix"], f.EnumerateObject().Select(p => p.Name)));
        JsonElement makestep = Assert.Single(findings, f => f.GetProperty("code").GetString() == "makestep-missing");
        Assert.Equal("warning", makestep.GetProperty("severity").GetString());
        Assert.Equal(JsonValueKind.Null, makestep.GetProperty("source").ValueKind);
        Assert.Equal(3, findings.Count(f => f.GetProperty("code").GetString() == "source-nts"));
        Assert.Equal("warning", findings[0].GetProperty("severity").GetString());
    }

    [Fact]
    public async Task ACleanConfigurationExitsZero()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("audit", "--config", Write("chrony.conf", Clean), "--offline");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("0 failure(s), 0 warning(s), 3 info", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FormatOverridesDetection()
    {
        // Detected by name as chrony (default mix: the pool can steer); read as ntp.conf with notrust it cannot.
        string config = Write("chrony-like.conf", "server a nts\nserver b nts\nserver c nts\npool p.example\nrestrict default notrust limited\n");
        Tempusctl.Result asChrony = await Tempusctl.RunAsync("audit", "--config", config, "--offline", "--json");
        Tempusctl.Result asNtp = await Tempusctl.RunAsync("audit", "--config", config, "--offline", "--json", "--format", "ntp");
        Assert.Contains("unauthenticated-source-can-steer", asChrony.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("unauthenticated-source-can-steer", asNtp.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"unauthenticated-source\"", asNtp.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingFileIsAUsageErrorOnStderr()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("audit", "--config", Path.Combine(_dir, "none.conf"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("No such file or directory", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task LiveModeWithoutADaemonIsAFailureFinding()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("audit", "--socket", Path.Combine(_dir, "no.sock"), "--json", "--offline");
        Assert.Equal(2, result.ExitCode);
        using JsonDocument json = JsonDocument.Parse(result.Stdout);
        Assert.Contains(json.RootElement.GetProperty("findings").EnumerateArray(), f => f.GetProperty("code").GetString() == "daemon-unreachable");
    }

    [Fact]
    public async Task ABadTimeoutIsAUsageError()
    {
        Tempusctl.Result result = await Tempusctl.RunAsync("audit", "--config", Write("chrony.conf", Clean), "--timeout", "0");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--timeout", result.Stderr, StringComparison.Ordinal);
    }
}
