using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Selection;
using Tempus.Sources;

namespace Tempus.Daemon;

/// <summary>
/// chronyd's -q and -Q: poll every configured source in a burst, and once selection has a system peer with enough
/// samples, print "System clock wrong by X seconds" and step the clock by X (-q) or leave it (-Q), then exit.
/// The measurement runs on a virtual clock, so only the final step (-q without -x) ever touches the system clock.
/// </summary>
internal static partial class OneShot
{
    /// <summary>Samples the system peer must have before its offset is trusted: one full iburst.</summary>
    private const int SamplesWanted = 4;

    public static async Task<int> RunAsync(DaemonOptions options, TempusConfiguration config, KeyRing? keys, ILoggerFactory loggerFactory)
    {
        ILogger logger = loggerFactory.CreateLogger("tempusd");
        for (int i = 0; i < config.Sources.Count; i++)
        {
            config.Sources[i] = config.Sources[i] with { IBurst = true };
        }

        if (config.Sources.Count == 0)
        {
            LogNoSources(logger, options.ConfigPath);
            return 1;
        }

        await using var host = new DaemonHost(options, config, keys, loggerFactory, virtualClock: true);
        var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Updated += () =>
        {
            // Under the host's lock: a fresh selection over the sources' current estimates.
            SyncEngine(host, done);
        };

        using var stop = new CancellationTokenSource(options.Timeout ?? Timeout.InfiniteTimeSpan);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        await host.StartSourcesAsync(stop.Token).ConfigureAwait(false);
        double offset;
        try
        {
            offset = await done.Task.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogNoSuitableSource(logger);
            Console.Error.WriteLine("No suitable source for synchronisation");
            return 1;
        }

        // offset is reference − local: positive means the system clock is behind, as chronyd prints it.
        string text = offset.ToString("F6", CultureInfo.InvariantCulture);
        if (options.OneShot == OneShotMode.PrintOnce || options.NoClockControl)
        {
            string why = options.OneShot == OneShotMode.PrintOnce ? "ignored" : "ignored: -x";
            Console.WriteLine($"System clock wrong by {text} seconds ({why})");
            return 0;
        }

        using var control = new LinuxClockControl();
        if (!control.CanAdjust)
        {
            Console.Error.WriteLine($"System clock wrong by {text} seconds, but it cannot be stepped without CAP_SYS_TIME: run as root, or use -Q to only print the offset");
            return 1;
        }

        control.StepOffset(offset);
        Console.WriteLine($"System clock wrong by {text} seconds (step)");
        return 0;
    }

    private static void SyncEngine(DaemonHost host, TaskCompletionSource<double> done)
    {
        if (done.Task.IsCompleted)
        {
            return;
        }

        long now = host.Engine.Clock.UnixNanoseconds;
        IReadOnlyList<IMeasuredSource> sources = host.Engine.Sources;
        var candidates = sources.Select(s => s.ToCandidate(now)).ToArray();
        SelectionResult result = SourceSelector.Select(candidates, host.Engine.SelectionOptions);
        if (result.SystemPeer is not { } peer)
        {
            return;
        }

        IMeasuredSource peerSource = sources.First(s => s.Name == peer.Name);
        bool burstOver = host.Sources.Sources.All(s => !s.InBurst);
        if (peerSource.Statistics.SampleCount < SamplesWanted && !burstOver)
        {
            return;
        }

        // The residual offset against the virtual clock, plus what the virtual clock has corrected so far.
        FreeRunningClockControl virtualClock = host.FreeRunning!;
        done.TrySetResult(result.CombinedOffset + virtualClock.VirtualOffsetSeconds + virtualClock.RemainingSlewSeconds);
    }

    [LoggerMessage(EventId = 40, Level = LogLevel.Critical, Message = "no server or pool line in {ConfigPath}: nothing to measure")]
    private static partial void LogNoSources(ILogger logger, string configPath);

    [LoggerMessage(EventId = 41, Level = LogLevel.Error, Message = "no suitable source for synchronisation before the timeout")]
    private static partial void LogNoSuitableSource(ILogger logger);
}
