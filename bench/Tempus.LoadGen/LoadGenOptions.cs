using System.Globalization;

namespace Tempus.LoadGen;

/// <summary>The command line of tempus-loadgen.</summary>
internal sealed class LoadGenOptions
{
    public const string Usage = """
        Usage: tempus-loadgen --tempusd PATH [options]
        Runs tempusd -x and chronyd -x -u root one after the other on 127.0.0.1 with the same settings and measures,
        for each: the highest request rate answered with under 1% loss for plain NTP, symmetric-key (AES128-CMAC)
        and NTS (AEAD 15) requests; NTS-KE handshakes per second; server CPU per request; RSS.
          --tempusd PATH       the tempusd to measure (a Release build)
          --chronyd PATH       chronyd (default /usr/sbin/chronyd)
          --quick              a ~1-minute run: shorter steps, fewer refinements
          --step-seconds S     seconds per load step (default 1.5, quick 0.5)
          --sockets N          client sockets, one source port each (default 64)
          --start-rate R       first target rate, requests/s (default 20000)
          --max-rate R         never ask for more than this (default 2000000)
          --ke-seconds S       NTS-KE measurement time (default 4, quick 2)
          --ke-concurrency N   parallel NTS-KE exchanges (default 8)
          --clientloglimit B   clientloglimit for both servers (default 524288, chrony's default)
          --pin                pin each server to the last CPU and the load generator to the others
          --nice N             run both servers and the generator at nice N, and this session's scheduler
                               autogroup too, restored at the end (e.g. -10 on a busy machine; root only below 0)
          --only NAME          measure only tempus or only chrony (no ratios)
          --phases LIST        measure only these, comma-separated: plain, symmetric, nts, ntske (default all;
                               e.g. --phases ntske to iterate on the NTS-KE server in a few seconds)
          --floor PATH         first run PATH, the NativeAOT bench/Tempus.RssFloor (.NET runtime + Tempus's OpenSSL
                               TLS 1.3 server context + one UDP socket, nothing else), with the same certificate, and
                               report its memory at ready: the part of tempusd's start RSS that is not Tempus
          -h, --help           this text
        Ends with: ratios tempus/chrony: plain=X symmetric=Y nts=Z ntske=W
        """;

    public string TempusdPath { get; private set; } = "";

    public string ChronydPath { get; private set; } = "/usr/sbin/chronyd";

    public bool Quick { get; private set; }

    public double StepSeconds { get; private set; }

    public int Sockets { get; private set; } = 64;

    public double StartRate { get; private set; } = 20_000;

    public double MaxRate { get; private set; } = 2_000_000;

    public double KeSeconds { get; private set; }

    public int KeConcurrency { get; private set; } = 8;

    public int ClientLogLimit { get; private set; } = 524_288;

    public bool Pin { get; private set; }

    /// <summary>The CPU the servers are pinned to with --pin (the last one).</summary>
    public int? PinServerCpu => Pin ? Environment.ProcessorCount - 1 : null;

    /// <summary>The nice value for both servers and the generator's threads; 0 leaves priorities alone.</summary>
    public int Nice { get; private set; }

    public string? Only { get; private set; }

    /// <summary>The floor program to measure before the daemons (--floor), or null.</summary>
    public string? FloorPath { get; private set; }

    /// <summary>The UDP load kinds to measure (--phases); all three by default.</summary>
    public IReadOnlyList<LoadKind> Kinds { get; private set; } = [LoadKind.Plain, LoadKind.Symmetric, LoadKind.Nts];

    /// <summary>Whether to measure NTS-KE handshakes (--phases).</summary>
    public bool MeasureNtsKe { get; private set; } = true;

    public bool ShowHelp { get; private set; }

    /// <summary>Refinement steps between the last passing and the first failing rate.</summary>
    public int RefineSteps => Quick ? 2 : 4;

    /// <summary>Distinct prebuilt requests per kind.</summary>
    public static int PoolSize => 4096;

    public static double MaxLoss => 0.01;

    public static LoadGenOptions Parse(string[] args)
    {
        var options = new LoadGenOptions();
        double? step = null;
        double? ke = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--tempusd":
                    options.TempusdPath = Next(args, ref i);
                    break;
                case "--chronyd":
                    options.ChronydPath = Next(args, ref i);
                    break;
                case "--quick":
                    options.Quick = true;
                    break;
                case "--step-seconds":
                    step = Number(args, ref i, 0.1, 30);
                    break;
                case "--sockets":
                    options.Sockets = (int)Number(args, ref i, 1, 1024);
                    break;
                case "--start-rate":
                    options.StartRate = Number(args, ref i, 100, 10_000_000);
                    break;
                case "--max-rate":
                    options.MaxRate = Number(args, ref i, 100, 10_000_000);
                    break;
                case "--ke-seconds":
                    ke = Number(args, ref i, 0.5, 60);
                    break;
                case "--ke-concurrency":
                    options.KeConcurrency = (int)Number(args, ref i, 1, 64);
                    break;
                case "--clientloglimit":
                    options.ClientLogLimit = (int)Number(args, ref i, 0, 1 << 30);
                    break;
                case "--nice":
                    options.Nice = (int)Number(args, ref i, -20, 19);
                    break;
                case "--pin":
                    options.Pin = true;
                    break;
                case "--only":
                    options.Only = Next(args, ref i) switch
                    {
                        "tempus" => "tempus",
                        "chrony" => "chrony",
                        string other => throw new ArgumentException($"--only: '{other}' is neither tempus nor chrony"),
                    };
                    break;
                case "--floor":
                    options.FloorPath = Next(args, ref i);
                    break;
                case "--phases":
                    ParsePhases(options, Next(args, ref i));
                    break;
                case "-h" or "--help":
                    options.ShowHelp = true;
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        options.StepSeconds = step ?? (options.Quick ? 0.5 : 1.5);
        options.KeSeconds = ke ?? (options.Quick ? 2 : 4);
        if (!options.ShowHelp && options.TempusdPath.Length == 0 && options.Only != "chrony")
        {
            throw new ArgumentException("--tempusd PATH is required (scripts/bench-server.sh passes the Release build)");
        }

        if (options.StartRate > options.MaxRate)
        {
            throw new ArgumentException($"--start-rate {options.StartRate} is above --max-rate {options.MaxRate}");
        }

        return options;
    }

    private static void ParsePhases(LoadGenOptions options, string list)
    {
        var kinds = new List<LoadKind>();
        bool ntsKe = false;
        foreach (string phase in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (phase)
            {
                case "plain":
                    kinds.Add(LoadKind.Plain);
                    break;
                case "symmetric":
                    kinds.Add(LoadKind.Symmetric);
                    break;
                case "nts":
                    kinds.Add(LoadKind.Nts);
                    break;
                case "ntske":
                    ntsKe = true;
                    break;
                default:
                    throw new ArgumentException($"--phases: '{phase}' is none of plain, symmetric, nts, ntske");
            }
        }

        if (kinds.Count == 0 && !ntsKe)
        {
            throw new ArgumentException("--phases: the list is empty");
        }

        options.Kinds = kinds.Distinct().ToArray();
        options.MeasureNtsKe = ntsKe;
    }

    private static string Next(string[] args, ref int i) =>
        i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");

    private static double Number(string[] args, ref int i, double min, double max)
    {
        string option = args[i];
        string text = Next(args, ref i);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= min && value <= max
            ? value
            : throw new ArgumentException($"{option}: '{text}' is not a number from {min} to {max}");
    }
}
