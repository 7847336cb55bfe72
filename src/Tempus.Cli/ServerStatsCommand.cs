using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl serverstats</c>: the NTP, NTS-KE and command counters of tempusd's server side.</summary>
internal static class ServerStatsCommand
{
    public static Command Create()
    {
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("serverstats", "show the server's packet counters (like chronyc serverstats)." + ControlVerb.ExitCodeHelp) { json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                ServerStatsReport report = await client.GetServerStatsAsync(ct).ConfigureAwait(false);
                return json ? ControlViews.Json(report, ControlJsonContext.Default.ServerStatsReport) : ControlViews.ServerStats(report, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
