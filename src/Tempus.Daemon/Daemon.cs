using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Daemon.Logging;
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
        var warnings = config.Warnings.Select(w => w.ToString()).ToList();
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

        if (errors.Count == 0 && (config.LeapSecondList is not null || config.LeapSecondTimezone is not null))
        {
            LeapSecondFile leap = config.LeapSecondList is { } list ? LeapSecondFile.ForList(list) : LeapSecondFile.ForZone(config.LeapSecondTimezone!);
            try
            {
                leap.Load();
            }
            catch (LeapSecondFileException e)
            {
                warnings.Add($"{leap.Directive}: {e.Message}: ignored, leap seconds come from the sources only");
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
        using LoggerFactory loggerFactory = CreateLoggerFactory(options.Verbosity);
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

        try
        {
            if (options.OneShot != OneShotMode.None)
            {
                return await OneShot.RunAsync(options, config, keys, loggerFactory).ConfigureAwait(false);
            }

            await using var host = new DaemonHost(options, config, keys, loggerFactory, virtualClock: options.NoClockControl);
            return await host.RunAsync(options.Timeout).ConfigureAwait(false);
        }
        finally
        {
            keys?.Dispose();
        }
    }

    internal static KeyRing LoadKeys(TempusConfiguration config, ILogger logger)
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

    private static LoggerFactory CreateLoggerFactory(int verbosity)
    {
        // The factory alone, without LoggerFactory.Create's service container: one provider, one minimum level.
        var factory = new LoggerFactory([], new LoggerFilterOptions
        {
            MinLevel = verbosity switch { 0 => LogLevel.Information, 1 => LogLevel.Debug, _ => LogLevel.Trace },
        });
        // AddProvider, not the constructor, so the factory disposes it (and the journal socket) at exit.
        factory.AddProvider(TempusLoggerProvider.FromEnvironment());
        return factory;
    }

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogFatal(ILogger logger, string message);


    [LoggerMessage(EventId = 4, Level = LogLevel.Critical, Message = "configuration error: {Error}")]
    private static partial void LogConfigError(ILogger logger, ConfigError error);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogKeyWarning(ILogger logger, KeyFileWarning warning);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "trustedkey {KeyId} is not in {KeyFile}")]
    private static partial void LogMissingTrustedKey(ILogger logger, uint keyId, string keyFile);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "loaded {Count} symmetric keys from {Path}")]
    private static partial void LogKeysLoaded(ILogger logger, int count, string path);



}
