namespace Tempus.Daemon;

/// <summary>tempusd's command line, modelled on chronyd's flags so admins can carry their habits over.</summary>
internal sealed class DaemonOptions
{
    public const string DefaultConfigPath = "/etc/tempus/tempus.conf";

    public string ConfigPath { get; private set; } = DefaultConfigPath;

    /// <summary>-x: never adjust the system clock (like chronyd -x). Every test and benchmark uses it.</summary>
    public bool NoClockControl { get; private set; }

    public bool CheckConfig { get; private set; }

    public bool ShowVersion { get; private set; }

    public bool ShowHelp { get; private set; }

    /// <summary>-d twice (like chronyd -d -d) or -L 0..: more detail in the log.</summary>
    public int Verbosity { get; private set; }

    public const string Usage = """
        Usage: tempusd [-f FILE] [-x] [-d] [-L LEVEL] [--check-config] [--version]
          -f FILE         configuration file (default /etc/tempus/tempus.conf), chrony.conf syntax
          -x              never adjust the system clock (like chronyd -x)
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
