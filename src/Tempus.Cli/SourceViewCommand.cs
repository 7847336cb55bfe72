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

        // chronyc's -a adds the sources whose address is not known yet; Tempus lists those always (an NTS source
        // waiting for its key exchange is one, and hiding it would hide a blocked TCP/4460), so -a changes nothing.
        var all = new Option<bool>("-a") { Description = "accepted for chronyc compatibility: every source is always listed, including those with no address yet" };
        var command = new Command(name, description + ControlVerb.ExitCodeHelp) { verbose, all, json, csv };
        command.SetAction((parse, ct) => RunAsync(
            ControlVerb.Client(parse),
            view,
            parse.GetValue(verbose),
            parse.GetValue(json),
            ControlVerb.IsCsv(parse, csv),
            parse.GetValue(ControlVerb.GlobalNumeric),
            Console.Out,
            Console.Error,
            ct));
        return command;
    }

    public static Task<int> RunAsync(
        ControlClient client, Func<IReadOnlyList<SourceReport>, bool, bool, string> view, bool verbose, bool json, bool csv,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(client, view, verbose, json, csv, numeric: false, stdout, stderr, cancellationToken);

    /// <summary>The view of the daemon's sources; with <paramref name="numeric"/> (chronyc's <c>-n</c>) each source known by its address is shown by it.</summary>
    public static Task<int> RunAsync(
        ControlClient client, Func<IReadOnlyList<SourceReport>, bool, bool, string> view, bool verbose, bool json, bool csv, bool numeric,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<SourceReport> sources = await client.GetSourcesAsync(ct).ConfigureAwait(false);
                if (json)
                {
                    return ControlViews.Json(sources.ToArray(), ControlJsonContext.Default.SourceReportArray);
                }

                return view(numeric ? [.. sources.Select(s => s.Address.Length > 0 ? s with { Name = s.Address } : s)] : sources, verbose, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
