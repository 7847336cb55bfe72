using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tempus.LoadGen;

/// <summary>
/// One daemon started by the benchmark (tempusd -x or chronyd -x -u root), with its own configuration, state
/// directory and free ports on 127.0.0.1. Only the process started here is ever signalled or killed.
/// </summary>
internal sealed class ServerUnderTest : IDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(20);
    private const int MaxLogLength = 64 * 1024;

    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private ServerUnderTest(string name, Process process, int port, int ntsPort, string configuration, string commandLine)
    {
        Name = name;
        _process = process;
        Port = port;
        NtsPort = ntsPort;
        Configuration = configuration;
        CommandLine = commandLine;
    }

    /// <summary>"tempus" or "chrony".</summary>
    public string Name { get; }

    public int Pid => _process.Id;

    public int Port { get; }

    public int NtsPort { get; }

    public string Configuration { get; }

    public string CommandLine { get; }

    public IPEndPoint Endpoint => new(IPAddress.Loopback, Port);

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>
    /// Writes the configuration the two daemons share (plus what each needs of its own), starts the daemon, and waits
    /// until it answers an NTP request and accepts TCP on its NTS-KE port. Retries with new ports if it exits at start
    /// (another program took a port between choosing and binding it).
    /// </summary>
    public static async Task<ServerUnderTest> StartAsync(string name, BenchSetup setup, CancellationToken cancellationToken)
    {
        string directory = Directory.CreateDirectory(Path.Combine(setup.Directory, name)).FullName;
        for (int attempt = 1; ; attempt++)
        {
            int port = FreeUdpPort();
            int ntsPort = FreeTcpPort();
            string nts = Directory.CreateDirectory(Path.Combine(directory, "nts")).FullName;
            var lines = new List<string>();
            string program;
            List<string> arguments;
            // Each daemon gets its own command socket (and chronyd its own pidfile) in its directory, so neither meets
            // a system daemon's or another test's; no UDP command port.
            lines.Add($"bindcmdaddress {Path.Combine(directory, name == "chrony" ? "chronyd.sock" : "tempusd.sock")}");
            lines.Add("cmdport 0");
            if (name == "chrony")
            {
                lines.Add($"pidfile {Path.Combine(directory, "chronyd.pid")}");
                program = setup.Options.ChronydPath;
                arguments = ["-x", "-u", "root", "-d", "-f", Path.Combine(directory, "chrony.conf")];
            }
            else
            {
                program = setup.Options.TempusdPath;
                arguments = ["-x", "-f", Path.Combine(directory, "tempus.conf")];
            }

            lines.AddRange(setup.CommonDirectives(port, ntsPort, nts));
            string configuration = string.Join('\n', lines) + "\n";
            string configPath = arguments[^1];
            File.WriteAllText(configPath, configuration);

            // tempusd as the shipped unit starts it (its Environment= lines: the GC's settings).
            (Process process, string commandLine) = Start(setup.Options, program, arguments, tempusEnvironment: name != "chrony", redirectInput: false, $"cannot run {program}");

            var server = new ServerUnderTest(name, process, port, ntsPort, configuration, commandLine);
            process.ErrorDataReceived += (_, e) => server.Append(e.Data);
            process.OutputDataReceived += (_, e) => server.Append(e.Data);
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            try
            {
                await server.WaitUntilServingAsync(cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (BenchmarkException) when (attempt < 3 && process.HasExited)
            {
                server.Dispose();
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    /// <summary>Stops the daemon: SIGTERM, then SIGKILL of it and its children after 5 s.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Posix.Kill(_process.Id, Posix.SIGTERM);
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5000);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>
    /// Starts <paramref name="program"/> with --nice/--pin applied (<see cref="WrapForOptions"/>), stdout and stderr
    /// redirected, and, for tempusd and what stands in for it, the environment the shipped unit gives tempusd; returns
    /// the process and its command line. A program that cannot be run is a <see cref="BenchmarkException"/> starting
    /// with <paramref name="failure"/>.
    /// </summary>
    internal static (Process Process, string CommandLine) Start(LoadGenOptions options, string program, List<string> arguments, bool tempusEnvironment, bool redirectInput, string failure)
    {
        string wrapped = WrapForOptions(options, program, arguments);
        var info = new ProcessStartInfo(wrapped)
        {
            RedirectStandardInput = redirectInput,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (tempusEnvironment)
        {
            foreach ((string key, string value) in ServiceEnvironment.Tempusd)
            {
                info.Environment[key] = value;
            }
        }

        string commandLine = $"{wrapped} {string.Join(' ', arguments)}";
        try
        {
            return (Process.Start(info) ?? throw new InvalidOperationException($"could not start {commandLine}"), commandLine);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BenchmarkException($"{failure}: {e.Message}");
        }
    }

    /// <summary>
    /// Puts --nice and --pin in front of a server's command line (<c>taskset -c CPU nice -n N PROGRAM</c>: each execs the
    /// next, so the started process's pid is the program's); returns what to start, <paramref name="arguments"/> extended.
    /// </summary>
    internal static string WrapForOptions(LoadGenOptions options, string program, List<string> arguments)
    {
        if (options.Nice != 0)
        {
            arguments.InsertRange(0, ["-n", options.Nice.ToString(System.Globalization.CultureInfo.InvariantCulture), program]);
            program = "/usr/bin/nice";
        }

        if (options.PinServerCpu is int cpu)
        {
            arguments.InsertRange(0, ["-c", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), program]);
            program = "/usr/bin/taskset";
        }

        return program;
    }

    internal static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static int FreeTcpPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < MaxLogLength)
            {
                _log.AppendLine(line);
            }
        }
    }

    private async Task WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        bool ntp = false;
        bool ntsKe = false;
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        byte[] request = new byte[48];
        request[0] = 0xE3; // LI 3, version 4, mode 3 (client)
        byte[] response = new byte[1024];
        while (!(ntp && ntsKe))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new BenchmarkException($"{Name}: `{CommandLine}` exited with code {_process.ExitCode} at start\n{Log}");
            }

            if (stopwatch.Elapsed > s_startTimeout)
            {
                throw new BenchmarkException(
                    $"{Name} did not serve NTP on 127.0.0.1:{Port} and NTS-KE on TCP {NtsPort} within {s_startTimeout.TotalSeconds:F0} s " +
                    $"(NTP {(ntp ? "answered" : "silent")}, NTS-KE {(ntsKe ? "accepting" : "refused")})\n{Log}");
            }

            if (!ntp)
            {
                await udp.SendToAsync(request, Endpoint, cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(200);
                try
                {
                    SocketReceiveFromResult result = await udp.ReceiveFromAsync(response, new IPEndPoint(IPAddress.Any, 0), timeout.Token).ConfigureAwait(false);
                    ntp = result.ReceivedBytes >= 48 && (response[0] & 7) == 4;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
                catch (SocketException)
                {
                    await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                }
            }

            if (!ntsKe)
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, NtsPort), cancellationToken).ConfigureAwait(false);
                    ntsKe = true;
                }
                catch (SocketException)
                {
                    await Task.Delay(100, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}

/// <summary>A benchmark that cannot run as asked; the message says what to do.</summary>
internal sealed class BenchmarkException(string message) : Exception(message);
