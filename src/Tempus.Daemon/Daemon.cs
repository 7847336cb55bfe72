using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Tls;
using Tempus.Server;

namespace Tempus.Daemon;

/// <summary>Wires configuration, keys, clock and server together and runs until SIGTERM or SIGINT.</summary>
internal static partial class Daemon
{
    public static int CheckConfig(DaemonOptions options)
    {
        TempusConfiguration config = ConfigParser.Check(options.ConfigPath, out IReadOnlyList<ConfigError> errors);
        var problems = errors.Select(e => e.ToString()).ToList();
        var warnings = new List<string>();
        if (errors.Count == 0 && config.KeyFile is not null)
        {
            try
            {
                var keyWarnings = new List<KeyFileWarning>();
                using KeyRing ring = KeyRing.Load(config.KeyFile, keyWarnings);
                warnings.AddRange(keyWarnings.Select(w => w.ToString()));
                if (config.TrustedKeys is { } trusted)
                {
                    foreach (uint id in trusted.Where(id => !ring.Keys.Any(k => k.Id == id)).Order())
                    {
                        warnings.Add($"{options.ConfigPath}: trustedkey {id} is not in {config.KeyFile}");
                    }
                }
            }
            catch (KeyFileException e)
            {
                problems.Add(e.Message);
            }
        }

        foreach (string warning in warnings)
        {
            Console.Error.WriteLine($"warning: {warning}");
        }

        foreach (string problem in problems)
        {
            Console.Error.WriteLine(problem);
        }

        if (problems.Count > 0)
        {
            Console.Error.WriteLine($"{options.ConfigPath}: {problems.Count} error(s)");
            return 1;
        }

        Console.WriteLine($"{options.ConfigPath}: OK");
        return 0;
    }

    public static async Task<int> RunAsync(DaemonOptions options)
    {
        using ILoggerFactory loggerFactory = CreateLoggerFactory(options.Verbosity);
        ILogger logger = loggerFactory.CreateLogger("tempusd");

        TempusConfiguration config;
        try
        {
            config = ConfigParser.Load(options.ConfigPath);
        }
        catch (ConfigurationException e)
        {
            foreach (ConfigError error in e.Errors)
            {
                LogConfigError(logger, error);
            }

            return 1;
        }

        KeyRing? keys = null;
        if (config.KeyFile is not null)
        {
            try
            {
                keys = LoadKeys(config, logger);
            }
            catch (KeyFileException e)
            {
                LogFatal(logger, e.Message);
                return 1;
            }
        }

        NtsServerKeyRing? ntsKeys = null;
        NtsKeServer? keServer = null;
        try
        {
            string clockControl = options.NoClockControl ? "disabled (-x): the system clock will not be adjusted" : "enabled";
            LogStarting(logger, options.ConfigPath, clockControl);
            ISystemClock clock = RealtimeClock.Instance;
            if (config.IsNtsServer)
            {
                // Loaded before the NTP server starts, so cookies issued before a restart are accepted at once.
                ntsKeys = NtsServerKeyRing.Open(clock, config.NtsRotateSeconds, config.NtsDumpDirectory, loggerFactory.CreateLogger<NtsServerKeyRing>());
            }

            var engine = new NtpServerEngine(
                clock,
                keys,
                config.NtpAccess,
                config.CryptoNak,
                now => config.LocalStratum is int stratum ? ReferenceState.Local(stratum, now) : ReferenceState.Unsynchronized,
                ntsKeys);

            UdpNtpServer? server = null;
            if (config.Port != 0)
            {
                if (!config.NtpAccess.HasAllowRules)
                {
                    LogNoAllow(logger);
                }

                try
                {
                    server = new UdpNtpServer(engine, clock, ServerEndpoints(config, config.Port), loggerFactory.CreateLogger<UdpNtpServer>());
                }
                catch (SocketException e)
                {
                    LogFatal(logger, e.Message);
                    return 1;
                }

                server.Start();
            }

            if (ntsKeys is not null && config.NtsPort != 0)
            {
                try
                {
                    keServer = new NtsKeServer(
                        new NtsKeServerOptions
                        {
                            Endpoints = ServerEndpoints(config, config.NtsPort).ToArray(),
                            Certificates = config.NtsServerCertificates.Zip(config.NtsServerKeys, (c, k) => new TlsCertificateKeyPair(c, k)).ToArray(),
                            NtpServer = config.NtsNtpServer,
                            // RFC 8915 §4.1.7: a Port record is sent when NTP is not on 123.
                            NtpPort = config.Port == 0 ? TempusConfiguration.DefaultNtpPort : config.Port,
                            MaxConnections = config.MaxNtsConnections,
                        },
                        ntsKeys,
                        loggerFactory.CreateLogger<NtsKeServer>());
                    keServer.Start();
                }
                catch (Exception e) when (e is SocketException or TlsException or IOException)
                {
                    LogNtsKeStartFailed(logger, e.Message);
                    server?.Dispose();
                    return 1;
                }
            }

            using (server)
            {
                using var stop = new CancellationTokenSource();
                using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
                using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
                using PosixSignalRegistration sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
                {
                    c.Cancel = true;
                    ReloadKeys(options, engine, logger);
                    keServer?.ReloadCertificates();
                    if (config.NtsRotateSeconds == 0)
                    {
                        // ntsrotate 0: the key file is managed outside (a fleet sharing it); SIGHUP picks it up.
                        ntsKeys?.Reload();
                    }
                });
                try
                {
                    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(60));
                    while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
                    {
                        ntsKeys?.RotateIfDue();
                    }
                }
                catch (OperationCanceledException)
                {
                }

                if (keServer is not null)
                {
                    await keServer.StopAsync().ConfigureAwait(false);
                }

                LogStopping(logger, engine.Counters.Received, engine.Counters.Responded, engine.Counters.Dropped);
            }

            return 0;
        }
        finally
        {
            keServer?.Dispose();
            ntsKeys?.Dispose();
            keys?.Dispose();
        }
    }

    /// <summary>
    /// SIGHUP: re-reads the key file and trusted keys from the configuration. A broken key file or config
    /// keeps the keys in service and says why, so a typo never leaves the server without its keys.
    /// </summary>
    private static void ReloadKeys(DaemonOptions options, NtpServerEngine engine, ILogger logger)
    {
        try
        {
            TempusConfiguration config = ConfigParser.Load(options.ConfigPath);
            engine.ReplaceKeys(config.KeyFile is null ? null : LoadKeys(config, logger));
            LogReloaded(logger, options.ConfigPath);
        }
        catch (Exception e) when (e is ConfigurationException or KeyFileException)
        {
            LogReloadFailed(logger, e.Message);
        }
    }

    private static KeyRing LoadKeys(TempusConfiguration config, ILogger logger)
    {
        var warnings = new List<KeyFileWarning>();
        KeyRing ring = KeyRing.Load(config.KeyFile!, warnings);
        foreach (KeyFileWarning warning in warnings)
        {
            LogKeyWarning(logger, warning);
        }

        ring.SetTrustedKeys(config.TrustedKeys);
        if (config.TrustedKeys is { } trusted)
        {
            foreach (uint id in trusted.Where(id => !ring.Keys.Any(k => k.Id == id)).Order())
            {
                LogMissingTrustedKey(logger, id, config.KeyFile!);
            }
        }

        LogKeysLoaded(logger, ring.Count, config.KeyFile!);
        return ring;
    }

    private static IEnumerable<IPEndPoint> ServerEndpoints(TempusConfiguration config, int port)
    {
        if (config.BindAddress is null && config.BindAddress6 is null)
        {
            // Dual-mode [::] serves IPv4 and IPv6 from one socket, as chrony's default does.
            yield return new IPEndPoint(IPAddress.IPv6Any, port);
            yield break;
        }

        if (config.BindAddress is not null)
        {
            yield return new IPEndPoint(config.BindAddress, port);
        }

        if (config.BindAddress6 is not null)
        {
            yield return new IPEndPoint(config.BindAddress6, port);
        }
    }

    private static ILoggerFactory CreateLoggerFactory(int verbosity) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(verbosity switch { 0 => LogLevel.Information, 1 => LogLevel.Debug, _ => LogLevel.Trace });
        if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null)
        {
            // Under systemd: syslog priority prefixes, one line per message, no colours.
            builder.AddSystemdConsole(o => o.IncludeScopes = false);
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }

        builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "tempusd starting with {ConfigPath}; clock control {ClockControl}")]
    private static partial void LogStarting(ILogger logger, string configPath, string clockControl);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "tempusd stopping: {Received} requests received, {Responded} answered, {Dropped} dropped")]
    private static partial void LogStopping(ILogger logger, long received, long responded, long dropped);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogFatal(ILogger logger, string message);

    [LoggerMessage(EventId = 11, Level = LogLevel.Critical, Message = "cannot start the NTS-KE server: {Reason}")]
    private static partial void LogNtsKeStartFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Critical, Message = "configuration error: {Error}")]
    private static partial void LogConfigError(ILogger logger, ConfigError error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogKeyWarning(ILogger logger, KeyFileWarning warning);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "trustedkey {KeyId} is not in {KeyFile}")]
    private static partial void LogMissingTrustedKey(ILogger logger, uint keyId, string keyFile);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "loaded {Count} symmetric keys from {Path}")]
    private static partial void LogKeysLoaded(ILogger logger, int count, string path);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "no 'allow' directive: the NTP server answers nobody (add e.g. 'allow 127.0.0.0/8')")]
    private static partial void LogNoAllow(ILogger logger);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "SIGHUP: symmetric keys reloaded as configured in {ConfigPath} (other settings apply at restart)")]
    private static partial void LogReloaded(ILogger logger, string configPath);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "SIGHUP: reload failed, keeping the keys in service: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string reason);
}
