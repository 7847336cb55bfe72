using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// NTPsec's ntpd serving on 127.0.0.1:123 (it has no port option, which is why these tests run one at a
// time). ntpd has no -x: it starts through `capsh --drop=cap_sys_time` so the kernel refuses any clock
// change, its discipline is off (`disable ntp kernel`), and the start fails if CAP_SYS_TIME is still
// effective. `tos orphan 8 orphanwait 0` makes it serve stratum 8 with no upstream about a second after
// start; StartAsync returns once it does.
public sealed partial class NtpsecPeer : IAsyncDisposable
{
    public const string Address = "127.0.0.1";
    public const int Port = 123;

    public const int OrphanStratum = 8;

    public const int NtsKePort = 4460;

    private const int CapSysTime = 25;
    // Only a broken start waits this out; room for a loaded 2-core CI machine.
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _directory;
    private readonly PeerProcess _process;

    private NtpsecPeer(PeerPaths paths, ITestOutputHelper output, TempDirectory directory, PeerProcess process, string logFile)
    {
        _paths = paths;
        _output = output;
        _directory = directory;
        _process = process;
        LogFile = logFile;
    }

    public string LogFile { get; }

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : string.Empty;

    // The count from ntpd's "authreadkeys: added N keys" line, or null if it never said.
    public int? KeysAdded
    {
        get
        {
            Match match = KeysAddedPattern().Match(Log);
            return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        }
    }

    public static Task<NtpsecPeer> StartAsync(PeerPaths paths, ITestOutputHelper output, string keysFile, IEnumerable<int> trustedKeys) =>
        StartCoreAsync(paths, output, _ =>
        [
            $"keys {keysFile}",
            $"trustedkey {string.Join(' ', trustedKeys)}",
            $"tos orphan {OrphanStratum} orphanwait 0",
        ], orphan: true, ntsServer: false);

    // ntpd as an NTS-KE server (RFC 8915) in orphan mode. NTPsec 1.2.2 has no option for the NTS-KE
    // port or address: it listens on 0.0.0.0:4460 and [::]:4460, and sends no Port record (its NTP is on 123).
    public static Task<NtpsecPeer> StartNtsServerAsync(PeerPaths paths, ITestOutputHelper output, PemPair certificate) =>
        StartCoreAsync(paths, output, directory =>
        [
            $"tos orphan {OrphanStratum} orphanwait 0",
            "nts enable",
            $"nts cert {certificate.CertificateFile}",
            $"nts key {certificate.KeyFile}",
            $"nts cookie {directory.PathOf("nts-keys")}",
        ], orphan: true, ntsServer: true);

    // ntpd as an NTS client of `server NAME nts`: NTS-KE to NAME:4460 (the port is fixed unless written
    // NAME:PORT), certificate checked against caFile and NAME, then NTP to the address and port the
    // NTS-KE server names. Polls every 8 s (minpoll 3 is NTPsec's floor).
    public static Task<NtpsecPeer> StartNtsClientAsync(PeerPaths paths, ITestOutputHelper output, string serverName, string caFile) =>
        StartCoreAsync(paths, output, directory =>
        [
            $"nts cookie {directory.PathOf("nts-keys")}",
            $"server {serverName} nts ca {caFile} iburst minpoll 3 maxpoll 3",
        ], orphan: false, ntsServer: false);

    private static async Task<NtpsecPeer> StartCoreAsync(
        PeerPaths paths, ITestOutputHelper output, Func<TempDirectory, IEnumerable<string>> directives, bool orphan, bool ntsServer)
    {
        string ntpd = paths.Ntpd;
        string capsh = paths.Capsh;
        // ntpd binds 0.0.0.0:123 and [::]:123 ("Listen and drop") before 127.0.0.1:123, so any other
        // server on port 123, on any address, makes it exit: wait for the wildcard to be free.
        await FreePort.RequireUdpFreeAsync(IPAddress.Any, Port, "NTPsec's ntpd", FreePort.FixedPortWait);
        if (ntsServer)
        {
            await FreePort.RequireTcpFreeAsync(IPAddress.Any, NtsKePort, "NTPsec's NTS-KE server", FreePort.FixedPortWait);
        }

        var directory = new TempDirectory("ntpd");
        Directory.CreateDirectory(directory.PathOf("stats"));
        string logFile = directory.PathOf("ntpd.log");
        string configuration = string.Join('\n',
        [
            $"driftfile {directory.PathOf("ntp.drift")}",
            $"statsdir {directory.PathOf("stats")}/",
            $"logfile {logFile}",
            "disable ntp kernel",
            "interface ignore all",
            $"interface listen {Address}",
            "restrict default ignore",
            "restrict -6 default ignore",
            "restrict 127.0.0.1",
            "restrict ::1",
            .. directives(directory),
        ]) + "\n";
        string configPath = directory.WriteFile("ntp.conf", configuration);
        output.WriteLine($"ntp.conf:\n{configuration}");

        string shellCommand = $"exec {CommandLine.Quote(ntpd)} -n -c {CommandLine.Quote(configPath)}";
        PeerProcess process = PeerProcess.Start("ntpd", capsh, ["--drop=cap_sys_time", "--", "-c", shellCommand]);
        var peer = new NtpsecPeer(paths, output, directory, process, logFile);
        try
        {
            await peer.WaitUntilLoggedAsync($"Listen normally on", $"{Address}:{Port}");
            peer.RequireNoClockCapability();
            if (ntsServer)
            {
                await peer.WaitUntilLoggedAsync("NTSs: listen4 worked", string.Empty);
            }

            if (orphan)
            {
                await peer.WaitUntilOrphanAsync();
            }
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }

        return peer;
    }

    // `ntpq -c nts 127.0.0.1`: NTPsec's NTS counters ("NTS client recvs good", "NTS KE serves good", ...).
    public async Task<IReadOnlyDictionary<string, long>> NtsCountersAsync()
    {
        CommandResult result = await NtpqAsync("-c", "nts", Address);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in result.Stdout.Split('\n'))
        {
            int colon = line.LastIndexOf(':');
            if (colon > 0 && long.TryParse(line[(colon + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            {
                counters[line[..colon].Trim()] = value;
            }
        }

        return counters;
    }

    public Task<CommandResult> NtpqAsync(params string[] arguments) =>
        CommandLine.RunAsync(_paths.Python3, [_paths.Ntpq, "-n", .. arguments], TimeSpan.FromSeconds(15), _output, _paths.NtpsecEnvironment);

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(TimeSpan.FromSeconds(5));
        _process.WriteTo(_output, $"--- {LogFile} ---\n{Log.TrimEnd()}");
        await _process.DisposeAsync();
        _directory.Dispose();
    }

    private async Task WaitUntilLoggedAsync(string text, string endpoint)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (Log.Split('\n').Any(line => line.Contains(text, StringComparison.Ordinal) && line.Contains(endpoint, StringComparison.Ordinal)))
            {
                return;
            }

            if (_process.HasExited)
            {
                throw new InteropSetupException(
                    $"ntpd exited with code {_process.ExitCode} at start\n$ {_process.CommandLine}\n{_process.Output}\n--- {LogFile} ---\n{Log}");
            }

            if (stopwatch.Elapsed > s_startTimeout)
            {
                throw new InteropSetupException(
                    $"ntpd did not log \"{text} {endpoint}\" within {s_startTimeout.TotalSeconds:F0} s\n{_process.Output}\n--- {LogFile} ---\n{Log}");
            }

            await Task.Delay(100);
        }
    }

    // Right after start ntpd answers stratum 0 (unsynchronized); orphan mode begins at its first
    // one-second timer tick even with orphanwait 0.
    private async Task WaitUntilOrphanAsync()
    {
        int? stratum = await SntpProbe.WaitForStratumAsync(new IPEndPoint(IPAddress.Parse(Address), Port), OrphanStratum, s_startTimeout);
        if (stratum != OrphanStratum)
        {
            throw new InteropSetupException(
                $"ntpd did not serve orphan stratum {OrphanStratum} within {s_startTimeout.TotalSeconds:F0} s (last answer: {stratum?.ToString(CultureInfo.InvariantCulture) ?? "none"})\n--- {LogFile} ---\n{Log}");
        }
    }

    // The one guarantee that ntpd cannot move this machine's clock: CAP_SYS_TIME is not in its effective set.
    private void RequireNoClockCapability()
    {
        string status = File.ReadAllText($"/proc/{_process.Id}/status");
        Match effective = CapEffPattern().Match(status);
        if (!effective.Success)
        {
            throw new InteropSetupException($"cannot read ntpd's capabilities from /proc/{_process.Id}/status");
        }

        ulong capabilities = ulong.Parse(effective.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if ((capabilities & (1UL << CapSysTime)) != 0)
        {
            throw new InteropSetupException($"ntpd (pid {_process.Id}) has CAP_SYS_TIME (CapEff {effective.Groups[1].Value}); stopped it");
        }
    }

    [GeneratedRegex(@"authreadkeys: added (\d+) keys")]
    private static partial Regex KeysAddedPattern();

    [GeneratedRegex(@"^CapEff:\s*([0-9a-fA-F]+)", RegexOptions.Multiline)]
    private static partial Regex CapEffPattern();
}
