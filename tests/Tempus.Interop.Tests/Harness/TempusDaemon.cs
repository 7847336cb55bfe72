using System.Globalization;
using System.Net;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

public sealed record TempusdOptions
{
    public string BindAddress { get; init; } = "127.0.0.1";

    // 0 picks a free port.
    public int Port { get; init; }

    public string? KeyFile { get; init; }

    public IReadOnlyList<int> TrustedKeys { get; init; } = [];

    public int LocalStratum { get; init; } = 3;

    public bool CryptoNak { get; init; }

    // `allow` lines; the default admits all of 127/8, use ["::1"] for an IPv6 test.
    public IReadOnlyList<string> Allow { get; init; } = ["127.0.0.0/8"];

    // ntsservercert/ntsserverkey pairs; any makes tempusd an NTS-KE server (RFC 8915 §4).
    public IReadOnlyList<PemPair> NtsCertificates { get; init; } = [];

    // The NTS-KE TCP port (ntsport); 0 picks a free one. Only used with NtsCertificates.
    public int NtsPort { get; init; }

    // ntsdumpdir: where the server keeps its cookie master keys (ntskeys) across restarts.
    public string? NtsDumpDirectory { get; init; }

    // More directives (server lines, makestep, ...), appended as given.
    public IReadOnlyList<string> ExtraLines { get; init; } = [];
}

// tempusd in the foreground with -x (never touches the clock), configured in chrony syntax with only the
// directives it knows. Ready when it logs "listening on ADDRESS:PORT".
public sealed class TempusDaemon : IAsyncDisposable
{
    // Only a broken start waits this out; a loaded 2-core CI machine runs tempusd's start-up through the JIT.
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);

    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _directory;
    private readonly PeerProcess _process;
    private bool _disposed;

    private TempusDaemon(ITestOutputHelper output, TempDirectory directory, PeerProcess process, string address, int port, int ntsPort)
    {
        _output = output;
        _directory = directory;
        _process = process;
        Address = address;
        Port = port;
        NtsPort = ntsPort;
    }

    public string Address { get; }

    public int Port { get; }

    // The NTS-KE TCP port, 0 when tempusd is not an NTS-KE server.
    public int NtsPort { get; }

    public string Log => _process.Output;

    // The control socket, for tempusctl --socket.
    public string SocketPath { get; private init; } = "";

    public static async Task<TempusDaemon> StartAsync(PeerPaths paths, ITestOutputHelper output, TempusdOptions options)
    {
        string tempusd = paths.Tempusd;
        IPAddress address = IPAddress.Parse(options.BindAddress);
        int port = options.Port != 0 ? options.Port : FreePort.Udp(address);
        await FreePort.RequireUdpFreeAsync(address, port, "tempusd", options.Port != 0 ? FreePort.FixedPortWait : TimeSpan.Zero);

        var directory = new TempDirectory("tempusd");
        List<string> lines =
        [
            $"port {port}",
            $"bindaddress {options.BindAddress}",
            $"local stratum {options.LocalStratum.ToString(CultureInfo.InvariantCulture)}",
            .. options.Allow.Select(subnet => $"allow {subnet}"),
        ];
        if (options.KeyFile is not null)
        {
            lines.Add($"keyfile {options.KeyFile}");
        }

        if (options.TrustedKeys.Count > 0)
        {
            lines.Add($"trustedkey {string.Join(' ', options.TrustedKeys)}");
        }

        if (options.CryptoNak)
        {
            lines.Add("cryptonak");
        }

        int ntsPort = 0;
        if (options.NtsCertificates.Count > 0)
        {
            ntsPort = options.NtsPort != 0 ? options.NtsPort : FreePort.Tcp(address);
            await FreePort.RequireTcpFreeAsync(address, ntsPort, "tempusd's NTS-KE server", options.NtsPort != 0 ? FreePort.FixedPortWait : TimeSpan.Zero);
            foreach (PemPair pair in options.NtsCertificates)
            {
                lines.Add($"ntsservercert {pair.CertificateFile}");
                lines.Add($"ntsserverkey {pair.KeyFile}");
            }

            lines.Add($"ntsport {ntsPort.ToString(CultureInfo.InvariantCulture)}");
            if (options.NtsDumpDirectory is not null)
            {
                lines.Add($"ntsdumpdir {options.NtsDumpDirectory}");
            }
        }

        // Each instance has its own control socket, so several can run and tempusctl --socket reaches this one.
        string socketPath = directory.PathOf("tempusd.sock");
        lines.Add($"bindcmdaddress {socketPath}");
        lines.AddRange(options.ExtraLines);
        string configuration = string.Join('\n', lines) + "\n";
        string configPath = directory.WriteFile("tempusd.conf", configuration);
        output.WriteLine($"tempusd.conf:\n{configuration}");

        PeerProcess process = PeerProcess.Start("tempusd", tempusd, ["-f", configPath, "-x"]);
        var daemon = new TempusDaemon(output, directory, process, options.BindAddress, port, ntsPort) { SocketPath = socketPath };
        try
        {
            // 127.0.0.1:123, and [::1]:123 or ::1:123 for IPv6.
            string endpoint = new IPEndPoint(address, port).ToString();
            string bare = $"{options.BindAddress}:{port}";
            await process.WaitForLineAsync(
                line => line.Contains("listening on", StringComparison.OrdinalIgnoreCase)
                    && !line.Contains("NTS-KE", StringComparison.Ordinal)
                    && (line.Contains(endpoint, StringComparison.Ordinal) || line.Contains(bare, StringComparison.Ordinal)),
                s_startTimeout,
                $"\"listening on {endpoint}\"");
            if (ntsPort != 0)
            {
                // "NTS-KE server listening on TCP 127.0.0.1:4460".
                string ntsEndpoint = new IPEndPoint(address, ntsPort).ToString();
                await process.WaitForLineAsync(
                    line => line.Contains("NTS-KE server listening on TCP", StringComparison.Ordinal) && line.Contains(ntsEndpoint, StringComparison.Ordinal),
                    s_startTimeout,
                    $"\"NTS-KE server listening on TCP {ntsEndpoint}\"");
            }
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }

        return daemon;
    }

    // Returns whether tempusd exited on SIGTERM within the grace period.
    public Task<bool> StopAsync(TimeSpan gracePeriod) => _process.StopAsync(gracePeriod);

    public int? ExitCode => _process.ExitCode;

    // Idempotent, so a test can stop tempusd early (a restart) and still hold it in `await using`.
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        bool exitedOnTerm = await _process.StopAsync(TimeSpan.FromSeconds(5));
        _process.WriteTo(_output, exitedOnTerm ? null : "tempusd did not exit within 5 s of SIGTERM and was killed");
        await _process.DisposeAsync();
        _directory.Dispose();
    }
}
