using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl dump</c>: save the NTS cookies and the drift file now (like chronyc dump).</summary>
internal static class DumpCommand
{
    public static Command Create()
    {
        var json = ControlVerb.Json();
        var command = new Command("dump", "save the NTS cookies and the drift file now (like chronyc dump). Only root or tempusd's user may run it; prints 200 OK like chronyc." + ControlVerb.ExitCodeHelp) { json };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(json), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunActionAsync(ct => client.DumpAsync(ct), json, stdout, stderr, cancellationToken);
}
