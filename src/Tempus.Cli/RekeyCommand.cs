using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl rekey</c>: run NTS-KE again for every NTS source (like chronyc rekey).</summary>
internal static class RekeyCommand
{
    public static Command Create()
    {
        var json = ControlVerb.Json();
        var command = new Command("rekey", "run NTS-KE again for every NTS source (like chronyc rekey). Only root or tempusd's user may run it; prints 200 OK like chronyc." + ControlVerb.ExitCodeHelp) { json };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(json), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunActionAsync(ct => client.RekeyAsync(ct), json, stdout, stderr, cancellationToken);
}
