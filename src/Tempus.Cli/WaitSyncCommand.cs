using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary>
/// <c>tempusctl waitsync [MAX-TRIES [MAX-CORRECTION [MAX-SKEW [INTERVAL]]]]</c>, chronyc's semantics: ask for
/// tracking every INTERVAL seconds (at least 0.1, default 10) until a reference is selected, the remaining correction is
/// at most MAX-CORRECTION seconds and the skew at most MAX-SKEW ppm (0: no limit), or MAX-TRIES tries (0: no limit)
/// have been made.
/// </summary>
internal static class WaitSyncCommand
{
    // chrony's LOCAL reference id (127.127.1.1): the local clock is not synchronization.
    private const uint LocalReferenceId = 0x7F7F0101;

    public static Command Create()
    {
        var maxTries = new Argument<int>("max-tries") { Description = "tries before giving up; 0 = forever", DefaultValueFactory = _ => 0, Arity = ArgumentArity.ZeroOrOne };
        var maxCorrection = new Argument<double>("max-correction") { Description = "largest remaining correction accepted, seconds; 0 = any", DefaultValueFactory = _ => 0, Arity = ArgumentArity.ZeroOrOne };
        var maxSkew = new Argument<double>("max-skew") { Description = "largest skew accepted, ppm; 0 = any", DefaultValueFactory = _ => 0, Arity = ArgumentArity.ZeroOrOne };
        var interval = new Argument<double>("interval") { Description = "seconds between tries (at least 0.1)", DefaultValueFactory = _ => 10, Arity = ArgumentArity.ZeroOrOne };
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("waitsync", "wait until tempusd is synchronized (like chronyc waitsync). Exit codes: 0 synchronized; 1 the tries ran out (or the daemon could not be asked); 2 usage.")
        {
            maxTries, maxCorrection, maxSkew, interval, json, csv,
        };
        command.SetAction((parse, ct) => RunAsync(
            ControlVerb.Client(parse),
            parse.GetValue(maxTries),
            parse.GetValue(maxCorrection),
            parse.GetValue(maxSkew),
            parse.GetValue(interval),
            parse.GetValue(json),
            ControlVerb.IsCsv(parse, csv),
            Console.Out,
            Console.Error,
            ct));
        return command;
    }

    public static bool IsSynchronized(TrackingReport t, double maxCorrection, double maxSkew) =>
        t.IsSynchronized && t.ReferenceId != LocalReferenceId
        && (maxCorrection == 0 || Math.Abs(t.SystemTimeOffset) <= maxCorrection)
        && (maxSkew == 0 || t.SkewPpm <= maxSkew);

    public static async Task<int> RunAsync(ControlClient client, int maxTries, double maxCorrection, double maxSkew, double interval, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (maxTries < 0 || maxCorrection < 0 || maxSkew < 0 || double.IsNaN(interval))
        {
            await stderr.WriteLineAsync("tempusctl: waitsync: MAX-TRIES, MAX-CORRECTION and MAX-SKEW must not be negative").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        TimeSpan wait = TimeSpan.FromSeconds(Math.Clamp(interval, 0.1, 86400));
        for (int attempt = 1; ; attempt++)
        {
            bool synchronized = false;
            try
            {
                TrackingReport t = await client.GetTrackingAsync(cancellationToken).ConfigureAwait(false);
                synchronized = IsSynchronized(t, maxCorrection, maxSkew);
                await stdout.WriteAsync(json ? JsonLine(attempt, t, synchronized) : ControlViews.WaitSyncTry(attempt, t, csv)).ConfigureAwait(false);
            }
            catch (ControlClientException e)
            {
                // chronyc keeps trying while the daemon cannot be reached (it may still be starting).
                await stdout.WriteLineAsync(ControlVerb.StatusLine(e)).ConfigureAwait(false);
                await stderr.WriteLineAsync($"tempusctl: {e.Message}").ConfigureAwait(false);
            }

            if (synchronized)
            {
                return ExitCodes.Success;
            }

            if (maxTries != 0 && attempt >= maxTries)
            {
                return ExitCodes.Failure;
            }

            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string JsonLine(int attempt, TrackingReport t, bool synchronized)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteNumber("try", attempt);
            w.WriteString("refid", t.ReferenceId.ToString("X8", CultureInfo.InvariantCulture));
            w.WriteNumber("correction", Math.Abs(t.SystemTimeOffset));
            w.WriteNumber("skew", t.SkewPpm);
            w.WriteBoolean("synchronized", synchronized);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}
