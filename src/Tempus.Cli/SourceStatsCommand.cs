using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl sourcestats [-v]</c>: show each source's sample statistics: frequency, skew, offset, deviation (like chronyc sourcestats).</summary>
internal static class SourceStatsCommand
{
    public static Command Create()
    {
        var verbose = ControlVerb.Verbose();
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("sourcestats", "show each source's sample statistics: frequency, skew, offset, deviation (like chronyc sourcestats)." + ControlVerb.ExitCodeHelp) { verbose, json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(verbose), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool verbose, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<SourceReport> sources = await client.GetSourcesAsync(ct).ConfigureAwait(false);
                return json ? ControlViews.Json(sources.ToArray(), ControlJsonContext.Default.SourceReportArray) : ControlViews.SourceStats(sources, verbose, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
