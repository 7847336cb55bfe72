using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Tempus.Audit;
using Tempus.Config;
using Tempus.Selection;

namespace Tempus.Daemon.Tests;

/// <summary>
/// What an admin installs (dist/ and scripts/install.sh): the starting configuration loads without a warning and
/// passes tempusctl's audit, the systemd unit passes <c>systemd-analyze verify</c>, and install.sh lays the files out
/// under a staging directory with the right modes and never overwrites a configuration.
/// </summary>
public sealed class DistFilesTests : IDisposable
{
    private static readonly string s_repository = FindRepository();

    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-dist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The source tree the tests were built from (the project file stamps it): the artifacts may live anywhere.
    private static string FindRepository() =>
        typeof(DistFilesTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value
        ?? throw new InvalidOperationException("the test assembly carries no RepositoryRoot");

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public void TheShippedConfigurationLoadsWithoutErrorsOrWarnings()
    {
        TempusConfiguration config = ConfigParser.Load(Path.Combine(s_repository, "dist", "tempus.conf"));

        Assert.Empty(config.Warnings);
        Assert.Equal(4, config.Sources.Count);
        Assert.All(config.Sources, s => Assert.True(s.Nts, $"{s.Host} is not an NTS source"));
        Assert.Equal(AuthSelectMode.Require, config.Selection.AuthSelectMode);
        Assert.Equal("/var/lib/tempus", config.NtsDumpDirectory);
    }

    [Fact]
    public void TheShippedConfigurationPassesTheAuditWithoutAWarning()
    {
        AuditInput input = AuditConfigReader.Read(Path.Combine(s_repository, "dist", "tempus.conf"));
        IReadOnlyList<AuditFinding> findings = ConfigAuditor.Audit(input, AuditEnvironment.System);

        Assert.Empty(findings.Where(f => f.Severity != AuditSeverity.Info).Select(f => $"{f.Code}: {f.Message}"));
    }

    [Fact]
    public async Task TheSystemdUnitPassesSystemdAnalyzeVerify()
    {
        // systemd-analyze comes from scripts/install-test-deps.sh; verify checks that ExecStart's program exists,
        // so the unit is checked with this build's tempusd in its place. Nothing is started.
        const string analyze = "/usr/bin/systemd-analyze";
        Assert.True(File.Exists(analyze), $"{analyze} is missing: run scripts/install-test-deps.sh");
        string unit = File.ReadAllText(Path.Combine(s_repository, "dist", "tempusd.service"))
            .Replace("/usr/local/sbin/tempusd", Path.Combine(AppContext.BaseDirectory, "tempusd"), StringComparison.Ordinal);
        string path = Path.Combine(_dir, "tempusd.service");
        File.WriteAllText(path, unit);

        (int exitCode, string output) = await RunAsync(analyze, "verify", path);

        Assert.True(exitCode == 0 && output.Trim().Length == 0, $"systemd-analyze verify: exit {exitCode}: {output}");
        Assert.Contains("\nType=notify\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nAmbientCapabilities=CAP_SYS_TIME CAP_NET_BIND_SERVICE\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nCapabilityBoundingSet=CAP_SYS_TIME CAP_NET_BIND_SERVICE\n", unit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InstallStagesTheFilesUnderDestdirAndKeepsAnExistingConfiguration()
    {
        // Stand-ins for the published executables: install.sh runs "tempusd --check-config" at the end.
        string published = Directory.CreateDirectory(Path.Combine(_dir, "published")).FullName;
        foreach (string name in (string[])["tempusd", "tempusctl"])
        {
            string exe = Path.Combine(published, name);
            File.WriteAllText(exe, $"#!/bin/sh\necho \"{name} $*\"\n");
            File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        string root = Path.Combine(_dir, "root");
        string script = Path.Combine(s_repository, "scripts", "install.sh");
        (int exitCode, string output) = await RunAsync("/bin/bash", script, "--destdir", root, "--prefix", "/opt/tempus", "--from", published);

        Assert.True(exitCode == 0, output);
        Assert.Contains("tempusd --check-config -f " + root + "/etc/tempus/tempus.conf", output, StringComparison.Ordinal);
        Assert.DoesNotContain("systemctl enable --now", output, StringComparison.Ordinal);
        const UnixFileMode Executable = (UnixFileMode)0b111_101_101;
        Assert.Equal(Executable, File.GetUnixFileMode(Path.Combine(root, "opt/tempus/sbin/tempusd")));
        Assert.Equal(Executable, File.GetUnixFileMode(Path.Combine(root, "opt/tempus/bin/tempusctl")));
        Assert.Equal((UnixFileMode)0b110_100_000, File.GetUnixFileMode(Path.Combine(root, "etc/tempus/tempus.conf")));
        Assert.Equal((UnixFileMode)0b111_101_000, File.GetUnixFileMode(Path.Combine(root, "etc/tempus")));
        Assert.True(Directory.Exists(Path.Combine(root, "etc/tempus/sources.d")));
        Assert.Equal(File.ReadAllText(Path.Combine(s_repository, "dist", "tempus.sysusers")), File.ReadAllText(Path.Combine(root, "usr/lib/sysusers.d/tempus.conf")));
        string unit = File.ReadAllText(Path.Combine(root, "etc/systemd/system/tempusd.service"));
        Assert.Contains("\nExecStart=/opt/tempus/sbin/tempusd -f /etc/tempus/tempus.conf\n", unit, StringComparison.Ordinal);
        Assert.Contains("\nDocumentation=file:///opt/tempus/share/doc/tempus/README.md\n", unit, StringComparison.Ordinal);

        // A second run keeps the admin's configuration.
        string config = Path.Combine(root, "etc/tempus/tempus.conf");
        File.WriteAllText(config, "server mine.example nts\n");
        (exitCode, output) = await RunAsync("/bin/bash", script, "--destdir", root, "--prefix", "/opt/tempus", "--from", published);
        Assert.True(exitCode == 0, output);
        Assert.Contains("kept the existing", output, StringComparison.Ordinal);
        Assert.Equal("server mine.example nts\n", File.ReadAllText(config));
    }

    [Fact]
    public async Task VersionListsFeaturesAndTheCryptoThisMachineRuns()
    {
        (int exitCode, string output) = await RunAsync(Path.Combine(AppContext.BaseDirectory, "tempusd"), "--version");

        Assert.Equal(0, exitCode);
        string aes = System.Runtime.Intrinsics.X86.Aes.IsSupported ? "+AESNI" : "-AESNI";
        string clmul = System.Runtime.Intrinsics.X86.Pclmulqdq.IsSupported ? "+CLMUL" : "-CLMUL";
        Assert.Matches($@"^tempusd \(Tempus\) \S+ \(\+NTS \+SECHASH \+CMAC -PRIVDROP {Regex.Escape(aes)} {Regex.Escape(clmul)} OpenSSL 3\.\d+\.\d+\)\n$", output);
    }

    [Fact]
    public async Task InstallRefusesMissingExecutablesAJitBuildAndARelativePrefix()
    {
        string script = Path.Combine(s_repository, "scripts", "install.sh");
        string root = Path.Combine(_dir, "root");

        (int exitCode, string output) = await RunAsync("/bin/bash", script, "--destdir", root, "--from", Path.Combine(_dir, "nothing"));
        Assert.Equal(1, exitCode);
        Assert.Contains("nothing/tempusd is missing or not executable", output, StringComparison.Ordinal);

        // A JIT build (the apphost next to tempusd.dll) would crash under the unit's MemoryDenyWriteExecute=yes.
        string jit = Directory.CreateDirectory(Path.Combine(_dir, "jit")).FullName;
        foreach (string name in (string[])["tempusd", "tempusctl", "tempusd.dll"])
        {
            File.WriteAllText(Path.Combine(jit, name), "#!/bin/sh\n");
            File.SetUnixFileMode(Path.Combine(jit, name), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        (exitCode, output) = await RunAsync("/bin/bash", script, "--destdir", root, "--from", jit);
        Assert.Equal(1, exitCode);
        Assert.Contains("tempusd is a JIT build (tempusd.dll beside it)", output, StringComparison.Ordinal);

        (exitCode, output) = await RunAsync("/bin/bash", script, "--destdir", root, "--prefix", "opt");
        Assert.Equal(2, exitCode);
        Assert.Contains("--prefix must be an absolute path, got 'opt'", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(root));
    }
}
