using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// chrony's chronyd as a server or a client, always `chronyd -x -u root -d -f CONF`: -x never touches the
// system clock, -d stays in the foreground and logs to stderr. Each instance has its own pidfile and
// command socket (bindcmdaddress a Unix socket in its directory, cmdport 0) so several can run, and is
// driven with `chronyc -h <socket>`.
public sealed partial class ChronydPeer : IAsyncDisposable
{
    // Bounds on a start and a chronyc command; only a broken run waits them out, so they leave room for a loaded
    // 2-core CI machine.
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_chronycTimeout = TimeSpan.FromSeconds(30);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _directory;
    private readonly PeerProcess _process;

    private ChronydPeer(PeerPaths paths, ITestOutputHelper output, TempDirectory directory, PeerProcess process, string socketPath, int port, string configuration)
    {
        _paths = paths;
        _output = output;
        _directory = directory;
        _process = process;
        SocketPath = socketPath;
        Port = port;
        Configuration = configuration;
    }

    public string SocketPath { get; }

    // The NTP server port, 0 for a client-only chronyd.
    public int Port { get; }

    public string Configuration { get; }

    // The NTS-KE TCP port, 0 unless chronyd is an NTS server.
    public int NtsPort { get; private init; }

    public string Log => _process.Output;

    // chronyd's complaints about its key file ("Could not decode key 1", "Invalid type in key 2",
    // "Invalid length of AES128 key 4", "Key 5 is too short", "Could not open keyfile").
    public IReadOnlyList<string> KeyFileErrors =>
        Log.Split('\n').Where(line => KeyFileErrorPattern().IsMatch(line)).ToList();

    // chronyd serving its local clock at the given stratum on a free port of 127.0.0.1 (or ::1).
    public static Task<ChronydPeer> StartServerAsync(PeerPaths paths, ITestOutputHelper output, string keyFile, int localStratum = 8, string address = "127.0.0.1")
    {
        int port = FreePort.Udp(IPAddress.Parse(address));
        return StartAsync(paths, output, port,
        [
            $"port {port}",
            $"bindaddress {address}",
            $"allow {address}",
            $"local stratum {localStratum}",
            $"keyfile {keyFile}",
        ]);
    }

    // chronyd polling one authenticated server every 250 ms (minpoll/maxpoll -2), serving nobody.
    public static Task<ChronydPeer> StartClientAsync(PeerPaths paths, ITestOutputHelper output, string keyFile, string serverAddress, int serverPort, int keyId) =>
        StartAsync(paths, output, 0,
        [
            "port 0",
            $"keyfile {keyFile}",
            $"server {serverAddress} port {serverPort} key {keyId} iburst minpoll -2 maxpoll -2",
        ]);

    // chronyd as an NTS client (RFC 8915) of one server, polling every 250 ms: NTS-KE to serverName:ntsPort,
    // trusting only caFile, then NTS-protected NTP to the port the NTS-KE server names (ntpPort otherwise).
    public static Task<ChronydPeer> StartNtsClientAsync(PeerPaths paths, ITestOutputHelper output, string serverName, int ntpPort, int ntsPort, string caFile) =>
        StartAsync(paths, output, 0, directory =>
        [
            "port 0",
            $"ntstrustedcerts {caFile}",
            $"ntsdumpdir {directory.CreateSubdirectory("nts")}",
            $"server {serverName} port {ntpPort} nts ntsport {ntsPort} iburst minpoll -2 maxpoll -2",
        ]);

    // chronyd as an NTS-KE and NTP server of its local clock on free ports of 127.0.0.1. chrony sends an
    // NTPv4 Port record because its NTP port is not 123 (RFC 8915 §4.1.8).
    public static Task<ChronydPeer> StartNtsServerAsync(PeerPaths paths, ITestOutputHelper output, PemPair certificate, int localStratum)
    {
        int port = FreePort.Udp(IPAddress.Loopback);
        int ntsPort = FreePort.Tcp(IPAddress.Loopback);
        return StartAsync(paths, output, port, directory =>
        [
            $"port {port}",
            "bindaddress 127.0.0.1",
            "allow 127.0.0.1",
            $"local stratum {localStratum}",
            $"ntsservercert {certificate.CertificateFile}",
            $"ntsserverkey {certificate.KeyFile}",
            $"ntsport {ntsPort}",
            $"ntsdumpdir {directory.CreateSubdirectory("nts")}",
        ], ntsPort);
    }

    public static Task<ChronydPeer> StartAsync(PeerPaths paths, ITestOutputHelper output, int port, IEnumerable<string> directives) =>
        StartAsync(paths, output, port, _ => directives);

    private static async Task<ChronydPeer> StartAsync(PeerPaths paths, ITestOutputHelper output, int port, Func<TempDirectory, IEnumerable<string>> directives, int ntsPort = 0)
    {
        string chronyd = paths.Chronyd;
        _ = paths.Chronyc;
        var directory = new TempDirectory("chronyd");
        string socketPath = directory.PathOf("chronyd.sock");
        string configuration = string.Join('\n',
        [
            $"pidfile {directory.PathOf("chronyd.pid")}",
            $"bindcmdaddress {socketPath}",
            "cmdport 0",
            .. directives(directory),
        ]) + "\n";
        string configPath = directory.WriteFile("chrony.conf", configuration);
        output.WriteLine($"chrony.conf:\n{configuration}");

        PeerProcess process = PeerProcess.Start("chronyd", chronyd, ["-x", "-u", "root", "-d", "-f", configPath]);
        var peer = new ChronydPeer(paths, output, directory, process, socketPath, port, configuration) { NtsPort = ntsPort };
        try
        {
            await peer.WaitUntilAnsweringAsync();
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }

        return peer;
    }

    public Task<CommandResult> ChronycAsync(params string[] arguments) =>
        CommandLine.RunAsync(_paths.Chronyc, ["-h", SocketPath, "-n", .. arguments], s_chronycTimeout, _output);

    public async Task<IReadOnlyList<ChronySource>> SourcesAsync()
    {
        CommandResult result = await ChronycAsync("-c", "sources");
        return result.ExitCode == 0 ? ParseLines(result.Stdout, ChronySource.Parse) : [];
    }

    public async Task<IReadOnlyList<ChronyAuthData>> AuthDataAsync()
    {
        CommandResult result = await ChronycAsync("-c", "authdata");
        if (result.ExitCode != 0)
        {
            throw new InteropSetupException($"chronyc authdata failed:\n{result}");
        }

        return ParseLines(result.Stdout, ChronyAuthData.Parse);
    }

    // `chronyc ntpdata ADDRESS`'s "Total valid RX": responses that passed every test, authentication included.
    public async Task<int> ValidResponsesAsync(string address)
    {
        CommandResult result = await ChronycAsync("ntpdata", address);
        Match match = TotalValidRxPattern().Match(result.Stdout);
        return match.Success
            ? ChronySource.Integer(match.Groups[1].Value)
            : throw new InteropSetupException($"no \"Total valid RX\" in chronyc ntpdata:\n{result}");
    }

    // Polls `chronyc sources` until chronyd has selected the address ('*'), then returns that source.
    // On timeout, fails with chrony's own view of the source (`ntpdata` shows its tests and auth result).
    public async Task<ChronySource> WaitForSelectedSourceAsync(string address, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        IReadOnlyList<ChronySource> sources = [];
        while (stopwatch.Elapsed < timeout)
        {
            sources = await SourcesAsync();
            ChronySource? selected = sources.FirstOrDefault(s => s.Address == address && s.State == '*');
            if (selected is not null)
            {
                return selected;
            }

            if (_process.HasExited)
            {
                break;
            }

            await Task.Delay(1000);
        }

        CommandResult ntpdata = await ChronycAsync("ntpdata", address);
        throw new InteropSetupException(
            $"chronyd did not select {address} within {timeout.TotalSeconds:F0} s; last sources: " +
            $"{string.Join("; ", sources)}\n{ntpdata}\nchronyd log:\n{Log}");
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(TimeSpan.FromSeconds(5));
        _process.WriteTo(_output);
        await _process.DisposeAsync();
        _directory.Dispose();
    }

    private async Task WaitUntilAnsweringAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InteropSetupException($"chronyd exited with code {_process.ExitCode} at start\n$ {_process.CommandLine}\n{Log}");
            }

            if (File.Exists(SocketPath))
            {
                CommandResult tracking = await ChronycAsync("-c", "tracking");
                if (tracking.ExitCode == 0)
                {
                    return;
                }
            }

            if (stopwatch.Elapsed > s_startTimeout)
            {
                throw new InteropSetupException($"chronyd did not answer chronyc within {s_startTimeout.TotalSeconds:F0} s\n{Log}");
            }

            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"Total valid RX\s*:\s*(\d+)")]
    private static partial Regex TotalValidRxPattern();

    [GeneratedRegex(@"(?i)(could not|invalid|too short|missing).*key")]
    private static partial Regex KeyFileErrorPattern();

    private static List<T> ParseLines<T>(string csv, Func<string[], T> parse) =>
        csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => parse(line.Split(',')))
            .ToList();
}

// One line of `chronyc -n -c sources`: mode (^ server, = peer, # refclock), state (* selected, + combined,
// - not combined, ? unusable, x falseticker, ~ too variable), address, stratum, poll, reach (octal), ...
public sealed record ChronySource(char Mode, char State, string Address, int Stratum, int Poll, string Reach)
{
    public static ChronySource Parse(string[] fields) =>
        fields.Length >= 6
            ? new ChronySource(fields[0][0], fields[1][0], fields[2], Integer(fields[3]), Integer(fields[4]), fields[5])
            : throw new FormatException($"unexpected chronyc sources line: {string.Join(',', fields)}");

    internal static int Integer(string text) => int.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}

// One line of `chronyc -n -c authdata`: address, mode (SK symmetric key, NTS, -), key id, hash type,
// key length in bits, last key change, attempts, NAKs, cookies, cookie length. For NTS: Type is the AEAD
// (15 AES-SIV-CMAC-256), LastKeyChange the seconds since the last successful NTS-KE, Attempts the NTS-KE
// attempts since then, Nak whether an NTS NAK came since the last request, Cookies the cookies held.
public sealed record ChronyAuthData(string Address, string Mode, int KeyId, int Type, int KeyLength)
{
    public long LastKeyChange { get; init; } = -1;

    public int Attempts { get; init; }

    public int Nak { get; init; }

    public int Cookies { get; init; }

    public int CookieLength { get; init; }

    // chronyc prints chrony's internal algorithm number (hash.h HSH_MD5 = 1, HSH_SHA1 = 2; cmac.h AES128 = 13).
    public static int TypeOf(string keyType) => keyType switch
    {
        "MD5" => 1,
        "SHA1" => 2,
        "AES128" => 13,
        _ => throw new ArgumentOutOfRangeException(nameof(keyType), keyType, "expected MD5, SHA1 or AES128"),
    };

    public static ChronyAuthData Parse(string[] fields)
    {
        if (fields.Length < 5)
        {
            throw new FormatException($"unexpected chronyc authdata line: {string.Join(',', fields)}");
        }

        var data = new ChronyAuthData(fields[0], fields[1], ChronySource.Integer(fields[2]), ChronySource.Integer(fields[3]), ChronySource.Integer(fields[4]));
        // A symmetric-key line has Last 4294967295 (never changed) and zeros; only NTS lines are read further.
        return fields.Length < 10 || data.Mode != "NTS" ? data : data with
        {
            LastKeyChange = long.Parse(fields[5], NumberStyles.None, CultureInfo.InvariantCulture),
            Attempts = ChronySource.Integer(fields[6]),
            Nak = ChronySource.Integer(fields[7]),
            Cookies = ChronySource.Integer(fields[8]),
            CookieLength = ChronySource.Integer(fields[9]),
        };
    }
}
