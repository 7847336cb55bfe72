using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl selectdata [-v]</c>: show why each source is or is not selected, with Tempus's states A and - and, with -v, each reason (like chronyc selectdata).</summary>
internal static class SelectDataCommand
{
    public static Command Create()
    {
        var verbose = ControlVerb.Verbose();
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("selectdata", "show why each source is or is not selected, with Tempus's states A and - and, with -v, each reason (like chronyc selectdata)." + ControlVerb.ExitCodeHelp) { verbose, json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(verbose), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool verbose, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<SourceReport> sources = await client.GetSourcesAsync(ct).ConfigureAwait(false);
                return json ? ControlViews.Json(sources.ToArray(), ControlJsonContext.Default.SourceReportArray) : ControlViews.SelectData(sources, verbose, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
