using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl sources [-v]</c>: show the sources, their state, reachability and last sample (like chronyc sources).</summary>
internal static class SourcesCommand
{
    public static Command Create() => SourceViewCommand.Create("sources", "show the sources, their state, reachability and last sample (like chronyc sources).", ControlViews.Sources);

    public static Task<int> RunAsync(ControlClient client, bool verbose, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        SourceViewCommand.RunAsync(client, ControlViews.Sources, verbose, json, csv, stdout, stderr, cancellationToken);
}
