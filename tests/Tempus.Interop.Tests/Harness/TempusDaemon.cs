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
}

// tempusd in the foreground with -x (never touches the clock), configured in chrony syntax with only the
// directives it knows. Ready when it logs "listening on ADDRESS:PORT".
public sealed class TempusDaemon : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(20);

    private readonly ITestOutputHelper _output;
    private readonly TempDirectory _directory;
    private readonly PeerProcess _process;

    private TempusDaemon(ITestOutputHelper output, TempDirectory directory, PeerProcess process, string address, int port)
    {
        _output = output;
        _directory = directory;
        _process = process;
        Address = address;
        Port = port;
    }

    public string Address { get; }

    public int Port { get; }

    public string Log => _process.Output;

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

        string configuration = string.Join('\n', lines) + "\n";
        string configPath = directory.WriteFile("tempusd.conf", configuration);
        output.WriteLine($"tempusd.conf:\n{configuration}");

        PeerProcess process = PeerProcess.Start("tempusd", tempusd, ["-f", configPath, "-x"]);
        var daemon = new TempusDaemon(output, directory, process, options.BindAddress, port);
        try
        {
            // 127.0.0.1:123, and [::1]:123 or ::1:123 for IPv6.
            string endpoint = new IPEndPoint(address, port).ToString();
            string bare = $"{options.BindAddress}:{port}";
            await process.WaitForLineAsync(
                line => line.Contains("listening on", StringComparison.OrdinalIgnoreCase)
                    && (line.Contains(endpoint, StringComparison.Ordinal) || line.Contains(bare, StringComparison.Ordinal)),
                s_startTimeout,
                $"\"listening on {endpoint}\"");
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

    public async ValueTask DisposeAsync()
    {
        bool exitedOnTerm = await _process.StopAsync(TimeSpan.FromSeconds(5));
        _process.WriteTo(_output, exitedOnTerm ? null : "tempusd did not exit within 5 s of SIGTERM and was killed");
        await _process.DisposeAsync();
        _directory.Dispose();
    }
}
