using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Tempus.Tls;

namespace Tempus.RssFloor;

/// <summary>
/// The memory floor under tempusd's RSS, for the side-by-side server benchmark (issue 5). Published NativeAOT like
/// tempusd, this program holds exactly three things, then waits:
/// <list type="number">
/// <item>the .NET runtime of a NativeAOT executable (GC, threads, type system, invariant globalization from
/// Directory.Build.props, as tempusd has them);</item>
/// <item>OpenSSL 3 (libssl, libcrypto) loaded through Tempus's own interop and one TLS 1.3 server context,
/// <see cref="TlsServerContext"/>, holding the certificate chain and private key given on the command line, as
/// tempusd's NTS-KE server does at start;</item>
/// <item>one UDP socket bound on 127.0.0.1.</item>
/// </list>
/// No NTP or NTS-KE server, no keys, configuration, logging, control socket or metrics. Why it exists: tempusd's RSS
/// at start is compared with chronyd's, and the runtime plus OpenSSL alone come close to chronyd's whole total;
/// <c>tempus-loadgen --floor</c> runs this before the daemons and prints its memory, so a reader sees how much of
/// tempusd's memory is Tempus itself and how much any .NET NTS server must carry.
/// </summary>
/// <remarks>
/// <c>tempus-rssfloor --port N --cert FILE --key FILE</c> writes one line <c>ready</c> to stdout once all three are
/// in place, then waits until stdin reaches end of file or SIGTERM/SIGINT arrives, and exits 0. Exit 2: bad
/// arguments; exit 1: the socket or the TLS context could not be made.
/// </remarks>
internal static class Program
{
    private const string Usage = """
        Usage: tempus-rssfloor --port N --cert FILE --key FILE
        Binds UDP 127.0.0.1:N (0: any free port), creates Tempus's OpenSSL TLS 1.3 server context from the certificate
        chain and key (PEM), writes "ready" to stdout, and waits until stdin reaches end of file or SIGTERM; exits 0.
        The RSS floor of the server benchmark: scripts/bench-server.sh runs it through tempus-loadgen --floor.
        """;

    private static int Main(string[] args)
    {
        FloorOptions options;
        try
        {
            options = FloorOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"tempus-rssfloor: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (options.ShowHelp)
        {
            Console.WriteLine(Usage);
            return 0;
        }

        // Registered first, so a SIGTERM that comes while OpenSSL loads still ends the program with 0.
        var stop = new TaskCompletionSource();
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, options.Port));
        }
        catch (SocketException e)
        {
            Console.Error.WriteLine($"tempus-rssfloor: cannot bind UDP 127.0.0.1:{options.Port}: {e.Message} (pick another --port)");
            return 1;
        }

        TlsServerContext tls;
        try
        {
            tls = new TlsServerContext(new TlsServerOptions { Certificates = [new TlsCertificateKeyPair(options.CertificateFile, options.KeyFile)] });
        }
        catch (Exception e) when (e is TlsConfigurationException or PlatformNotSupportedException)
        {
            Console.Error.WriteLine($"tempus-rssfloor: cannot create the TLS server context from --cert {options.CertificateFile} --key {options.KeyFile}: {e.Message}");
            return 1;
        }

        using (tls)
        {
            // Raw streams, not Console.Out: its encoder and writer would be memory of this program, not of the floor.
            using (Stream output = Console.OpenStandardOutput())
            {
                output.Write("ready\n"u8);
                output.Flush();
            }

            // The watcher is a background thread: blocked in read(2) it does not keep the process alive after SIGTERM.
            var stdinWatcher = new Thread(() => WaitForEndOfInput(stop)) { IsBackground = true, Name = "stdin" };
            stdinWatcher.Start();
            stop.Task.Wait();
            GC.KeepAlive(socket);
        }

        return 0;
    }

    private static void WaitForEndOfInput(TaskCompletionSource stop)
    {
        try
        {
            using Stream input = Console.OpenStandardInput();
            Span<byte> buffer = stackalloc byte[256];
            while (input.Read(buffer) > 0)
            {
            }
        }
        catch (IOException)
        {
            // A read error ends the input as end of file does.
        }

        stop.TrySetResult();
    }
}

/// <summary>The command line of tempus-rssfloor: each of --port, --cert and --key exactly once.</summary>
internal sealed class FloorOptions
{
    // No path the program could open is longer (PATH_MAX, including its NUL).
    private const int MaxPathLength = 4095;

    public int Port { get; private set; } = -1;

    public string CertificateFile { get; private set; } = "";

    public string KeyFile { get; private set; } = "";

    public bool ShowHelp { get; private set; }

    public static FloorOptions Parse(string[] args)
    {
        var options = new FloorOptions();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port":
                    string option = args[i];
                    string text = Next(args, ref i);
                    if (options.Port >= 0)
                    {
                        throw new ArgumentException("--port is given twice");
                    }

                    options.Port = text.Length <= 5 && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= IPEndPoint.MaxPort
                        ? port
                        : throw new ArgumentException($"{option}: '{Shorten(text)}' is not a port number from 0 to {IPEndPoint.MaxPort}");
                    break;
                case "--cert":
                    options.CertificateFile = File(args, ref i, options.CertificateFile);
                    break;
                case "--key":
                    options.KeyFile = File(args, ref i, options.KeyFile);
                    break;
                case "-h" or "--help":
                    options.ShowHelp = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{Shorten(args[i])}'");
            }
        }

        if (options.ShowHelp)
        {
            return options;
        }

        foreach ((string name, bool missing) in (ReadOnlySpan<(string, bool)>)[("--port N", options.Port < 0), ("--cert FILE", options.CertificateFile.Length == 0), ("--key FILE", options.KeyFile.Length == 0)])
        {
            if (missing)
            {
                throw new ArgumentException($"{name} is required");
            }
        }

        return options;
    }

    private static string File(string[] args, ref int i, string previous)
    {
        string option = args[i];
        string path = Next(args, ref i);
        if (previous.Length > 0)
        {
            throw new ArgumentException($"{option} is given twice");
        }

        return path.Length is > 0 and <= MaxPathLength && !path.Contains('\0', StringComparison.Ordinal)
            ? path
            : throw new ArgumentException($"{option}: '{Shorten(path)}' is not a file path (1 to {MaxPathLength} characters, no NUL)");
    }

    private static string Next(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");

    // Echoes at most 64 characters of what was given, so a garbage argument cannot flood the terminal.
    private static string Shorten(string text) => text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "...");
}
