using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl activity</c>: how many sources are online, offline, bursting or unresolved.</summary>
internal static class ActivityCommand
{
    public static Command Create()
    {
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("activity", "count the sources online, offline, in a burst and unresolved (like chronyc activity)." + ControlVerb.ExitCodeHelp) { json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                ActivityReport report = await client.GetActivityAsync(ct).ConfigureAwait(false);
                return json ? ControlViews.Json(report, ControlJsonContext.Default.ActivityReport) : ControlViews.Activity(report, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
