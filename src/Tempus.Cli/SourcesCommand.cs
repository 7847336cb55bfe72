using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl sources [-v]</c>: show the sources, their state, reachability and last sample (like chronyc sources).</summary>
internal static class SourcesCommand
{
    public static Command Create()
    {
        var verbose = ControlVerb.Verbose();
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("sources", "show the sources, their state, reachability and last sample (like chronyc sources)." + ControlVerb.ExitCodeHelp) { verbose, json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(verbose), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool verbose, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<SourceReport> sources = await client.GetSourcesAsync(ct).ConfigureAwait(false);
                return json ? ControlViews.Json(sources.ToArray(), ControlJsonContext.Default.SourceReportArray) : ControlViews.Sources(sources, verbose, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
