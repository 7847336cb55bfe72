using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl selectdata [-v]</c>: show why each source is or is not selected, with Tempus's states A and - and, with -v, each reason (like chronyc selectdata).</summary>
internal static class SelectDataCommand
{
    public static Command Create() => SourceViewCommand.Create("selectdata", "show why each source is or is not selected, with Tempus's states A and - and, with -v, each reason (like chronyc selectdata).", ControlViews.SelectData);

    public static Task<int> RunAsync(ControlClient client, bool verbose, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        SourceViewCommand.RunAsync(client, ControlViews.SelectData, verbose, json, csv, stdout, stderr, cancellationToken);
}
