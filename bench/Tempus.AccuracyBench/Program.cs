using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Tempus.AccuracyBench;

/// <summary>
/// Accuracy side by side (issue 4): one NTP server, two clients — tempusd and chronyd, both with clock control
/// off (-x) — each measuring the server through its own front of the same user-space network emulator. The server
/// and both clients read the same machine clock, so the true offset is 0 and whatever a client believes the
/// clock's error is (its virtual correction) is its error. Prints each client's RMS and worst error, its time to
/// first synchronization, and the ratios Tempus/chrony (lower is better for all three). The emulator stamps both ends
/// of every exchange, so it also prints the path's own bias at each front (what a client with perfect timestamps
/// would measure: the draws of the emulated jitter and the emulator's scheduling lateness do not cancel over a few
/// dozen samples), and how far each client's mean error lies from it.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"tempus-accuracy-bench: {e.Message}");
            Console.Error.WriteLine(Options.Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(Options.Usage);
            return 0;
        }

        var paths = Paths.Find();
        using var work = new WorkDirectory();
        Console.WriteLine($"path: {options.Path}; clients poll 2^{options.MinPoll}..2^{options.MaxPoll} s; {options.Duration.TotalSeconds:F0} s run, errors counted {options.Settle.TotalSeconds:F0} s after each client's first synchronization");
        Console.WriteLine("server: tempusd -x (local stratum 1); clients: tempusd -x and chronyd -x -u root; nothing adjusts the system clock");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores shared by the server, both clients and the emulator");

        await using var server = ManagedProcess.StartTempusServer(paths, work);
        using var emulator = new NetworkEmulator(new IPEndPoint(IPAddress.Loopback, server.Port), options.Path, fronts: 2, options.Seed);
        emulator.Start();
        await using var tempus = ManagedProcess.StartTempusClient(paths, work, emulator.FrontPort(0), options);
        await using var chrony = ManagedProcess.StartChronyClient(paths, work, emulator.FrontPort(1), options);

        var tempusSeries = new Series("tempus");
        var chronySeries = new Series("chrony");
        long startRealtimeNs = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);
        var start = Stopwatch.StartNew();
        while (start.Elapsed < options.Duration)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            double t = start.Elapsed.TotalSeconds;
            tempusSeries.Add(t, await tempus.ReadTrackingAsync());
            chronySeries.Add(t, await chrony.ReadTrackingAsync());
            foreach (ManagedProcess process in new[] { server, tempus, chrony })
            {
                if (process.HasExited)
                {
                    Console.Error.WriteLine($"{process.Name} exited early:\n{process.Log}");
                    return 1;
                }
            }
        }

        emulator.Dispose(); // Stops its thread: its exchange log is ours to read from here on.
        Console.WriteLine();
        Console.WriteLine($"emulator: {emulator.Forwarded} datagrams forwarded, {emulator.Dropped} dropped; its thread ran {(emulator.SchedulingError == 0 ? "SCHED_FIFO" : $"at normal priority (SCHED_FIFO refused: errno {emulator.SchedulingError})")}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"emulator: forwarded late by mean {emulator.Lateness(true).MeanMicroseconds:F1} us (worst {emulator.Lateness(true).MaxMicroseconds:F0} us) for requests, {emulator.Lateness(false).MeanMicroseconds:F1} us (worst {emulator.Lateness(false).MaxMicroseconds:F0} us) for responses"));
        Console.WriteLine($"{"client",-8} {"first sync",11} {"RMS error",12} {"max |error|",12} {"samples",8} {"mean error",12} {"sd error",12}");
        Report tempusReport = tempusSeries.Summarize(options.Settle);
        Report chronyReport = chronySeries.Summarize(options.Settle);
        Console.WriteLine(tempusReport);
        Console.WriteLine(chronyReport);

        // The true offset is 0, but the path is not perfectly symmetric: besides the emulated asymmetry, the relay's and
        // the server's own latencies differ by direction. The relay stamps both ends of every exchange it forwards, so
        // it knows what a client with perfect timestamps at its front would measure; that bias belongs to the path,
        // and only what a client adds to it is the client's own.
        Console.WriteLine($"path bias at the relay's front, i.e. the mean error of a client with perfect timestamps (emulated asymmetry/2 = {options.Path.AsymmetryMs / 2 * 1000:F1} us):");
        Console.WriteLine($"{"front",-8} {"exchanges",9} {"mean",12} {"best 1/4",12} {"delay",12} {"relay asym",12} {"server asym",12} {"client mean-path",17}");
        foreach ((Report report, int front) in new[] { (tempusReport, 0), (chronyReport, 1) })
        {
            double fromSeconds = report.FirstSyncSeconds + options.Settle.TotalSeconds;
            long fromNs = startRealtimeNs + (long)((double.IsNaN(fromSeconds) ? 0 : fromSeconds) * 1e9);
            PathReport path = PathReport.Of(emulator.Exchanges.Exchanges.Where(e => e.Front == front && e.RequestArrivedNs >= fromNs));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{report.Client,-8} {path.Count,9} {path.MeanOffset * 1e6,9:F1} us {path.BestQuarterOffset * 1e6,9:F1} us {path.MeanDelay * 1e3,9:F3} ms {path.RelayAsymmetry * 1e6,9:F1} us {path.ServerAsymmetry * 1e6,9:F1} us {(report.MeanSeconds - path.MeanOffset) * 1e6,14:F1} us"));
        }

        // The clients' own measurement logs against the same exchanges: what their timestamps add (T1 and T4 capture),
        // as opposed to what their filters and disciplines make of the samples.
        Console.WriteLine("each client's samples (its measurements.log) against the same exchanges at its front, medians over the run:");
        Console.WriteLine($"{"client",-8} {"samples",9} {"delay - front",14} {"offset bias",14}  log's offset sign");
        foreach ((Series series, int front) in new[] { (tempusSeries, 0), (chronySeries, 1) })
        {
            MeasurementComparison m = MeasurementComparison.Of(
                work.PathOf($"{series.Client}-logs/measurements.log"),
                [.. emulator.Exchanges.Exchanges.Where(e => e.Front == front)],
                realtimeNs => series.ErrorAt((realtimeNs - startRealtimeNs) / 1e9));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{series.Client,-8} {m.Matched,4} of {m.Logged,2} {m.DelayExcessMedian * 1e6,11:F1} us {m.OffsetExcessMedian * 1e6,11:F1} us  {(m.ChronySign ? "chrony's (theta, + = local clock behind)" : "opposite to chrony's")}"));
        }

        if (options.Keep is { } keep)
        {
            Directory.CreateDirectory(keep);
            emulator.Exchanges.WriteCsv(Path.Combine(keep, "exchanges.csv"));
            tempusSeries.WriteCsv(Path.Combine(keep, "tempus-tracking.csv"), startRealtimeNs);
            chronySeries.WriteCsv(Path.Combine(keep, "chrony-tracking.csv"), startRealtimeNs);
            foreach (string client in new[] { "tempus", "chrony" })
            {
                foreach (string log in Directory.EnumerateFiles(work.PathOf(client + "-logs")))
                {
                    File.Copy(log, Path.Combine(keep, $"{client}-{Path.GetFileName(log)}"), overwrite: true);
                }
            }

            Console.WriteLine($"kept the relay's exchanges, both clients' tracking series and their measurement/statistics/tracking logs in {keep}");
        }

        if (tempusReport.Samples == 0 || chronyReport.Samples == 0)
        {
            Console.Error.WriteLine("a client never synchronized; logs follow");
            Console.Error.WriteLine(tempus.Log);
            Console.Error.WriteLine(chrony.Log);
            return 1;
        }

        Console.WriteLine(
            $"ratios tempus/chrony (lower is better): rms={Ratio(tempusReport.RmsSeconds, chronyReport.RmsSeconds)} " +
            $"max={Ratio(tempusReport.MaxSeconds, chronyReport.MaxSeconds)} " +
            $"first-sync={Ratio(tempusReport.FirstSyncSeconds, chronyReport.FirstSyncSeconds)} " +
            $"sd={Ratio(tempusReport.SdSeconds, chronyReport.SdSeconds)}");
        return 0;
    }

    private static string Ratio(double tempus, double chrony) =>
        chrony > 0 ? (tempus / chrony).ToString("F2", CultureInfo.InvariantCulture) : "n/a";
}

/// <summary>One reading of a client's tracking: whether it is synchronized and its current clock error.</summary>
internal readonly record struct TrackingSample(bool Synchronized, double ErrorSeconds);

internal sealed record Report(string Client, double FirstSyncSeconds, double RmsSeconds, double MaxSeconds, int Samples, double MeanSeconds, double SdSeconds)
{
    public override string ToString() => Samples == 0
        ? $"{Client,-8} {"never",11}"
        : $"{Client,-8} {FirstSyncSeconds,9:F0} s {RmsSeconds * 1e6,9:F1} us {MaxSeconds * 1e6,9:F1} us {Samples,8} {MeanSeconds * 1e6,9:F1} us {SdSeconds * 1e6,9:F1} us";
}

internal sealed class Series(string client)
{
    private readonly List<(double Time, TrackingSample Sample)> _samples = [];

    public void Add(double time, TrackingSample? sample)
    {
        if (sample is { } s)
        {
            _samples.Add((time, s));
        }
    }

    public string Client => client;

    /// <summary>The error read nearest to <paramref name="time"/> (seconds since the start), or NaN when none is within 1.5 s.</summary>
    public double ErrorAt(double time)
    {
        double best = double.NaN;
        double distance = 1.5;
        foreach ((double t, TrackingSample sample) in _samples)
        {
            if (Math.Abs(t - time) < distance)
            {
                distance = Math.Abs(t - time);
                best = sample.ErrorSeconds;
            }
        }

        return best;
    }

    /// <summary>The readings as CSV: CLOCK_REALTIME of the reading (approximate, ns), synchronized, error in seconds.</summary>
    public void WriteCsv(string path, long startRealtimeNs)
    {
        var text = new System.Text.StringBuilder("realtime_ns,synchronized,error_s\n");
        foreach ((double time, TrackingSample sample) in _samples)
        {
            text.Append(CultureInfo.InvariantCulture, $"{startRealtimeNs + (long)(time * 1e9)},{(sample.Synchronized ? 1 : 0)},{sample.ErrorSeconds:E6}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    public Report Summarize(TimeSpan settle)
    {
        int first = _samples.FindIndex(s => s.Sample.Synchronized);
        if (first < 0)
        {
            return new Report(client, double.NaN, double.NaN, double.NaN, 0, double.NaN, double.NaN);
        }

        double firstSync = _samples[first].Time;
        var counted = _samples.Skip(first).Where(s => s.Time >= firstSync + settle.TotalSeconds && s.Sample.Synchronized).ToList();
        if (counted.Count == 0)
        {
            return new Report(client, firstSync, double.NaN, double.NaN, 0, double.NaN, double.NaN);
        }

        double rms = Math.Sqrt(counted.Average(s => s.Sample.ErrorSeconds * s.Sample.ErrorSeconds));
        double max = counted.Max(s => Math.Abs(s.Sample.ErrorSeconds));
        // The mean is mostly the path's asymmetry (and timestamping) bias; the standard deviation about it is the noise
        // of the discipline itself.
        double mean = counted.Average(s => s.Sample.ErrorSeconds);
        double sd = Math.Sqrt(counted.Average(s => (s.Sample.ErrorSeconds - mean) * (s.Sample.ErrorSeconds - mean)));
        return new Report(client, firstSync, rms, max, counted.Count, mean, sd);
    }
}

internal sealed record Options(PathSettings Path, TimeSpan Duration, TimeSpan Settle, int MinPoll, int MaxPoll, int Seed, string? Keep, bool Help)
{
    public const string Usage =
        "usage: tempus-accuracy-bench [--quick] [--duration S] [--settle S] [--delay MS] [--jitter MS] [--asymmetry MS] [--loss P] [--minpoll N] [--maxpoll N] [--seed N] [--keep DIR]\n" +
        "  --keep DIR: copy the relay's per-exchange timestamps, the tracking series and both clients' measurements,\n" +
        "              statistics and tracking logs (chrony's format) into DIR\n" +
        "environment: TEMPUS_ARTIFACTS=DIR runs tempusd and tempusctl from DIR/bin (a build with -p:ArtifactsPath=DIR)";

    public static Options Parse(string[] args)
    {
        double delay = 5, jitter = 1, asymmetry = 0.5, loss = 0.01;
        double duration = 300, settle = 60;
        int minPoll = 0, maxPoll = 2, seed = 1;
        bool help = false;
        string? keep = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            double Number(double min, double max)
            {
                string name = args[i];
                string text = Value();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
                    ? v
                    : throw new ArgumentException($"{name}: '{text}' is not a number from {min} to {max}");
            }

            switch (args[i])
            {
                case "--quick": duration = 90; settle = 30; break;
                case "--duration": duration = Number(10, 86400); break;
                case "--settle": settle = Number(0, 86400); break;
                case "--delay": delay = Number(0, 1000); break;
                case "--jitter": jitter = Number(0, 1000); break;
                case "--asymmetry": asymmetry = Number(-1000, 1000); break;
                case "--loss": loss = Number(0, 0.9); break;
                case "--minpoll": minPoll = (int)Number(-4, 10); break;
                case "--maxpoll": maxPoll = (int)Number(-4, 10); break;
                case "--seed": seed = (int)Number(0, int.MaxValue); break;
                case "--keep": keep = Value(); break;
                case "-h" or "--help": help = true; break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }

        if (maxPoll < minPoll)
        {
            throw new ArgumentException("--maxpoll must not be less than --minpoll");
        }

        return new Options(new PathSettings(delay, jitter, asymmetry, loss), TimeSpan.FromSeconds(duration), TimeSpan.FromSeconds(settle), minPoll, maxPoll, seed, keep, help);
    }
}

internal sealed record Paths(string Tempusd, string Tempusctl, string Chronyd, string Chronyc)
{
    /// <summary>
    /// tempusd and tempusctl from the repository's artifacts (the script's build), or from the artifacts folder named by
    /// TEMPUS_ARTIFACTS (a build with -p:ArtifactsPath=..., so a private build does not overwrite the shared one).
    /// </summary>
    public static Paths Find()
    {
        string Require(string path, string hint) => File.Exists(path) ? path : throw new FileNotFoundException($"{path} not found: {hint}", path);
        string configuration = Path.GetFileName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        string? artifacts = Environment.GetEnvironmentVariable("TEMPUS_ARTIFACTS");
        if (string.IsNullOrEmpty(artifacts))
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Tempus.slnx")))
            {
                dir = Path.GetDirectoryName(dir);
            }

            if (dir is null)
            {
                throw new InvalidOperationException("cannot find the repository (Tempus.slnx) above " + AppContext.BaseDirectory + ": set TEMPUS_ARTIFACTS to the artifacts folder of the build");
            }

            artifacts = Path.Combine(dir, "artifacts");
        }

        string bin = Path.Combine(artifacts, "bin");
        string build = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TEMPUS_ARTIFACTS"))
            ? "build it: dotnet build {0} -c Release"
            : "build it: dotnet build {0} -c Release -p:ArtifactsPath=" + artifacts;
        return new Paths(
            Require(Path.Combine(bin, "Tempus.Daemon", configuration, "tempusd"), string.Format(System.Globalization.CultureInfo.InvariantCulture, build, "src/Tempus.Daemon")),
            Require(Path.Combine(bin, "Tempus.Cli", configuration, "tempusctl"), string.Format(System.Globalization.CultureInfo.InvariantCulture, build, "src/Tempus.Cli")),
            Require("/usr/sbin/chronyd", "run scripts/install-test-deps.sh"),
            Require("/usr/bin/chronyc", "run scripts/install-test-deps.sh"));
    }
}

internal sealed class WorkDirectory : IDisposable
{
    public WorkDirectory()
    {
        Root = Directory.CreateTempSubdirectory("tempus-accuracy-").FullName;
    }

    public string Root { get; }

    public string PathOf(string name) => System.IO.Path.Combine(Root, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _log = new();
    private readonly Func<ManagedProcess, Task<TrackingSample?>> _readTracking;

    private ManagedProcess(string name, Process process, int port, Func<ManagedProcess, Task<TrackingSample?>> readTracking)
    {
        Name = name;
        _process = process;
        Port = port;
        _readTracking = readTracking;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Port { get; }

    public bool HasExited => _process.HasExited;

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

    public static ManagedProcess StartTempusServer(Paths paths, WorkDirectory work)
    {
        int port = FreeUdpPort();
        string config = work.PathOf("server.conf");
        File.WriteAllText(config, $"""
            bindaddress 127.0.0.1
            port {port}
            allow 127.0.0.0/8
            local stratum 1
            bindcmdaddress {work.PathOf("server.sock")}
            """);
        return new ManagedProcess("server", Start(paths.Tempusd, "-x", "-f", config), port, _ => Task.FromResult<TrackingSample?>(null));
    }

    public static ManagedProcess StartTempusClient(Paths paths, WorkDirectory work, int serverPort, Options options)
    {
        string config = work.PathOf("tempus.conf");
        string socket = work.PathOf("tempus.sock");
        File.WriteAllText(config, $"""
            port 0
            server 127.0.0.1 port {serverPort} iburst minpoll {options.MinPoll} maxpoll {options.MaxPoll}
            bindcmdaddress {socket}
            logdir {LogDirectory(work, "tempus")}
            log measurements statistics tracking
            """);
        return new ManagedProcess("tempusd", Start(paths.Tempusd, "-x", "-f", config), 0, async _ =>
        {
            string? json = await RunAsync(paths.Tempusctl, "--socket", socket, "tracking", "--json");
            if (json is null)
            {
                return null;
            }

            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            bool synced = root.TryGetProperty("isSynchronized", out JsonElement s) && s.GetBoolean();
            double error = root.GetProperty("systemTimeOffset").GetDouble();
            return new TrackingSample(synced, error);
        });
    }

    public static ManagedProcess StartChronyClient(Paths paths, WorkDirectory work, int serverPort, Options options)
    {
        string config = work.PathOf("chrony.conf");
        string socket = work.PathOf("chronyd.sock");
        File.WriteAllText(config, $"""
            pidfile {work.PathOf("chronyd.pid")}
            bindcmdaddress {socket}
            cmdport 0
            port 0
            server 127.0.0.1 port {serverPort} iburst minpoll {options.MinPoll} maxpoll {options.MaxPoll}
            logdir {LogDirectory(work, "chrony")}
            log measurements statistics tracking
            """);
        return new ManagedProcess("chronyd", Start(paths.Chronyd, "-x", "-u", "root", "-d", "-f", config), 0, async _ =>
        {
            // chronyc -c tracking: ref id, name, stratum, ref time, system time, last offset, rms offset, ...,
            // leap status last. System time is chronyd's belief of how far the system clock is from NTP time:
            // with -x the system clock is never corrected, and it is the true time, so that belief is the error.
            string? csv = await RunAsync(paths.Chronyc, "-h", socket, "-n", "-c", "tracking");
            string[]? fields = csv?.Trim().Split(',');
            if (fields is null || fields.Length < 14)
            {
                return null;
            }

            bool synced = !fields[^1].StartsWith("Not synchronised", StringComparison.Ordinal);
            // Same sign as Tempus's error (checked with --asymmetry 4: both means come out at +2 ms).
            return new TrackingSample(synced, double.Parse(fields[4], CultureInfo.InvariantCulture));
        });
    }

    public Task<TrackingSample?> ReadTrackingAsync() => _readTracking(this);

    private static string LogDirectory(WorkDirectory work, string client) =>
        Directory.CreateDirectory(work.PathOf(client + "-logs")).FullName;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
        }

        _process.Dispose();
    }

    private static async Task<string?> RunAsync(string program, params string[] arguments)
    {
        using Process process = Start(program, arguments);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        Task<string> stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            string output = await stdout;
            _ = await stderr;
            return process.ExitCode == 0 ? output : null;
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            return null;
        }
    }

    private static Process Start(string program, params string[] arguments)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
    }

    private static int FreeUdpPort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length < 1 << 20)
            {
                _log.AppendLine(line);
            }
        }
    }
}
