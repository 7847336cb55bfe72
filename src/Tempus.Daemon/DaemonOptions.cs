namespace Tempus.Daemon;

/// <summary>chronyd's one-shot modes.</summary>
internal enum OneShotMode
{
    /// <summary>Run as a daemon.</summary>
    None,

    /// <summary>-q: measure, set the clock once (a step), exit.</summary>
    SetOnce,

    /// <summary>-Q: measure, print the offset, exit without touching the clock.</summary>
    PrintOnce,
}

/// <summary>tempusd's command line, modelled on chronyd's flags so admins can carry their habits over.</summary>
internal sealed class DaemonOptions
{
    public const string DefaultConfigPath = "/etc/tempus/tempus.conf";

    public string ConfigPath { get; private set; } = DefaultConfigPath;

    /// <summary>-x: never adjust the system clock (like chronyd -x). Every test and benchmark uses it.</summary>
    public bool NoClockControl { get; private set; }

    public bool CheckConfig { get; private set; }

    /// <summary>-q / -Q: set the clock once, or print the offset once, and exit (like chronyd).</summary>
    public OneShotMode OneShot { get; private set; }

    /// <summary>-t SECONDS: give up after this long (the one-shot modes, and the daemon as chronyd -t).</summary>
    public TimeSpan? Timeout { get; private set; }

    public bool ShowVersion { get; private set; }

    public bool ShowHelp { get; private set; }

    /// <summary>-d twice (like chronyd -d -d) or -L 0..: more detail in the log.</summary>
    public int Verbosity { get; private set; }

    public const string Usage = """
        Usage: tempusd [-f FILE] [-x] [-q | -Q] [-t SECONDS] [-d] [-L LEVEL] [--check-config] [--version]
          -f FILE         configuration file (default /etc/tempus/tempus.conf), chrony.conf syntax
          -x              never adjust the system clock (like chronyd -x)
          -q              measure the sources (iburst), step the clock once and exit (like chronyd -q)
          -Q              measure the sources and print the offset, without touching the clock, and exit
          -t SECONDS      exit after this long (with -q/-Q: exit 1 if no source could be used by then)
          -n              accepted for chronyd compatibility (tempusd always runs in the foreground)
          -d              more log detail; twice for per-packet tracing
          -L LEVEL        minimum log level: 0 information, -1 debug, -2 trace
          --check-config  report every problem in the configuration and exit (non-zero if any)
          --version       print the version and exit
        tempusd runs in the foreground and logs to stderr (journald-friendly under systemd).
        """;

    public static DaemonOptions Parse(string[] args)
    {
        var options = new DaemonOptions();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-f":
                    options.ConfigPath = Next(args, ref i);
                    break;
                case "-x":
                    options.NoClockControl = true;
                    break;
                case "-q":
                    options.OneShot = OneShotMode.SetOnce;
                    break;
                case "-Q":
                    options.OneShot = OneShotMode.PrintOnce;
                    break;
                case "-n":
                    break;
                case "-t":
                    string text = Next(args, ref i);
                    options.Timeout = double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && seconds <= 1e6
                        ? TimeSpan.FromSeconds(seconds)
                        : throw new ArgumentException($"-t: bad timeout '{text}' (expected a positive number of seconds)");
                    break;
                case "-d":
                    options.Verbosity++;
                    break;
                case "-L":
                    options.Verbosity = Next(args, ref i) switch
                    {
                        "0" => 0,
                        "-1" => 1,
                        "-2" => 2,
                        string other => throw new ArgumentException($"-L: bad level '{other}' (expected 0, -1 or -2)"),
                    };
                    break;
                case "--check-config":
                    options.CheckConfig = true;
                    break;
                case "--version" or "-v":
                    options.ShowVersion = true;
                    break;
                case "--help" or "-h":
                    options.ShowHelp = true;
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        return options;
    }

    private static string Next(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new ArgumentException($"option {args[i]} needs a value");
        }

        return args[++i];
    }
}
