using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl tracking</c>: chronyc's tracking view of the system's reference and clock correction.</summary>
internal static class TrackingCommand
{
    public static Command Create()
    {
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("tracking", "show the system's reference and how the clock is being corrected (like chronyc tracking)." + ControlVerb.ExitCodeHelp) { json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                TrackingReport report = await client.GetTrackingAsync(ct).ConfigureAwait(false);
                return json ? ControlViews.Json(report, ControlJsonContext.Default.TrackingReport) : ControlViews.Tracking(report, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
