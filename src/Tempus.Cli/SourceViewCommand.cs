using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary>
/// What the per-source views (<c>sources</c>, <c>sourcestats</c>, <c>selectdata</c>, <c>authdata</c>) share: they ask
/// the daemon for the same source reports and differ only in how they print them. Each verb keeps its own class.
/// </summary>
internal static class SourceViewCommand
{
    public static Command Create(string name, string description, Func<IReadOnlyList<SourceReport>, bool, bool, string> view)
    {
        var verbose = ControlVerb.Verbose();
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command(name, description + ControlVerb.ExitCodeHelp) { verbose, json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), view, parse.GetValue(verbose), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(
        ControlClient client, Func<IReadOnlyList<SourceReport>, bool, bool, string> view, bool verbose, bool json, bool csv,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<SourceReport> sources = await client.GetSourcesAsync(ct).ConfigureAwait(false);
                return json ? ControlViews.Json(sources.ToArray(), ControlJsonContext.Default.SourceReportArray) : view(sources, verbose, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
