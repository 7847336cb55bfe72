using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Tempus.LoadGen;

// tempus-loadgen: the side-by-side server benchmark (issue 5). scripts/bench-server.sh builds and runs it.
LoadGenOptions options;
try
{
    options = LoadGenOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"tempus-loadgen: {e.Message}");
    Console.Error.WriteLine(LoadGenOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(LoadGenOptions.Usage);
    return 0;
}

if (options.Only != "tempus" && !File.Exists(options.ChronydPath))
{
    Console.Error.WriteLine($"tempus-loadgen: chronyd not found at {options.ChronydPath}: run scripts/install-test-deps.sh (installs chrony 4.3 from Debian, no service started)");
    return 3;
}

if (options.Only != "chrony" && !File.Exists(options.TempusdPath))
{
    Console.Error.WriteLine($"tempus-loadgen: tempusd not found at {options.TempusdPath}: build it with scripts/bench-server.sh or `dotnet build src/Tempus.Daemon -c Release`");
    return 3;
}

if (options.FloorPath is string floorPath && !File.Exists(floorPath))
{
    Console.Error.WriteLine($"tempus-loadgen: --floor: {floorPath} not found: scripts/bench-server.sh publishes it " +
        "(dotnet publish bench/Tempus.RssFloor -c Release -r linux-x64 -p:PublishAot=true)");
    return 3;
}

using var cancellation = new CancellationTokenSource();
void Cancel(PosixSignalContext context)
{
    context.Cancel = true;
    Console.Error.WriteLine($"tempus-loadgen: {context.Signal}: stopping the servers");
    cancellation.Cancel();
}

using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);

if (options.Nice != 0 && Posix.SetThreadNice(options.Nice) is int errno and not 0)
{
    Console.Error.WriteLine($"tempus-loadgen: --nice {options.Nice}: setpriority failed with errno {errno} (below 0 needs root)");
    return 2;
}

// With the kernel's autogroup scheduling, nice only ranks threads inside their session's group; the group itself
// competes with other sessions at its own nice (/proc/self/autogroup). Set it too, and put it back at the end.
string? previousAutogroupNice = options.Nice == 0 ? null : Autogroup.SetNice(options.Nice);

if (options.Pin)
{
    // Threads inherit the affinity of the thread that creates them: set it before the sender and receiver exist.
    long mask = ((1L << Environment.ProcessorCount) - 1) & ~(1L << options.PinServerCpu!.Value);
    Process.GetCurrentProcess().ProcessorAffinity = (nint)(mask == 0 ? 1 : mask);
}

var total = Stopwatch.StartNew();
try
{
    using BenchSetup setup = BenchSetup.Create(options);
    Console.WriteLine("Tempus server benchmark: tempusd vs chronyd, one at a time, on 127.0.0.1");
    Console.WriteLine($"machine: {Environment.ProcessorCount} CPUs ({CpuModel()}), load average at start {ProcStats.LoadAverage()}; " +
        "the load generator runs on the same CPUs as the server, so every figure is for server + generator sharing them");
    Console.WriteLine(options.Pin
        ? $"pinning: each server on CPU {options.PinServerCpu} (taskset), the generator on the others"
        : "pinning: none, for either server (the kernel schedules server, generator and other work on any CPU)");
    Console.WriteLine($"priority: {(options.Nice == 0 ? "default nice 0" : $"nice {options.Nice}")} for both servers and the generator; " +
        "both daemons run from start to end, but only one is under load at a time, kind by kind (tempus, then chrony)");
    Console.WriteLine($"tempusd's environment, from {ServiceEnvironment.UnitPath}: {ServiceEnvironment.Describe()}");
    Console.WriteLine($"same settings for both: bindaddress/allow 127.0.0.1, local stratum {BenchSetup.LocalStratum}, key {BenchSetup.KeyId} AES128 ({setup.KeyFile}), " +
        "NTS-KE certificate from a private CA, no ratelimit/ntsratelimit, " +
        (setup.ClientLogLimitShared ? $"clientloglimit {options.ClientLogLimit}" : "no clientloglimit line (tempusd does not know it; chrony keeps its default 524288)"));
    Console.WriteLine($"method: open-loop sender, {options.Sockets} sockets (source ports), sendmmsg batches of up to 64 paced by clock_nanosleep; " +
        $"recvmmsg receiver; steps of {options.StepSeconds} s doubling from {options.StartRate}/s then {options.RefineSteps} bisections; pass = loss < 1% " +
        "(a response counts if it is mode 4, not a kiss-o'-death, long enough for its authentication, and echoes one of our transmit timestamps; " +
        "three exchanges per kind are first checked fully, MAC and NTS authenticator included)");

    RequestPool plain = RequestPool.Plain(LoadGenOptions.PoolSize);
    RequestPool symmetric = RequestPool.Symmetric(LoadGenOptions.PoolSize, setup.Key);
    FloorResult? floor = null;
    if (options.FloorPath is string path)
    {
        floor = await Floor.MeasureAsync(path, setup, cancellation.Token);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"== floor: {floor.CommandLine}: at ready rss {floor.AtReady.RssKiB / 1024.0:F1} MiB, pss {floor.AtReady.PssKiB / 1024.0:F1} MiB, " +
            $"anonymous {floor.AtReady.AnonKiB / 1024.0:F1} MiB; stopped at the end of its stdin"));
    }

    string[] names = options.Only is string only ? [only] : ["tempus", "chrony"];
    IReadOnlyList<ServerResult> results = await ServerBenchmark.RunAsync(names, setup, plain, symmetric, cancellation.Token);
    ServerResult? tempus = results.FirstOrDefault(r => r.Name == "tempus");
    ServerResult? chrony = results.FirstOrDefault(r => r.Name == "chrony");
    Report.Print(tempus, chrony, floor);
    Console.WriteLine($"whole run: {total.Elapsed.TotalSeconds:F0} s; load average at end {ProcStats.LoadAverage()}");
    Console.WriteLine(tempus is not null && chrony is not null
        ? Report.RatioLine(tempus, chrony)
        : "ratios tempus/chrony: not computed (--only measured one server)");
    return 0;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    Console.Error.WriteLine("tempus-loadgen: interrupted; the servers it started are stopped");
    return 130;
}
catch (BenchmarkException e)
{
    Console.Error.WriteLine($"tempus-loadgen: {e.Message}");
    return 1;
}
finally
{
    Autogroup.Restore(previousAutogroupNice);
}

static string CpuModel()
{
    foreach (string line in File.ReadLines("/proc/cpuinfo"))
    {
        if (line.StartsWith("model name", StringComparison.Ordinal))
        {
            return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
    }

    return "unknown model";
}
