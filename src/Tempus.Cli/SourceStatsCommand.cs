using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl sourcestats [-v]</c>: show each source's sample statistics: frequency, skew, offset, deviation (like chronyc sourcestats).</summary>
internal static class SourceStatsCommand
{
    public static Command Create() => SourceViewCommand.Create("sourcestats", "show each source's sample statistics: frequency, skew, offset, deviation (like chronyc sourcestats).", ControlViews.SourceStats);

    public static Task<int> RunAsync(ControlClient client, bool verbose, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        SourceViewCommand.RunAsync(client, ControlViews.SourceStats, verbose, json, csv, stdout, stderr, cancellationToken);
}
