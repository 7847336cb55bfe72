using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl makestep</c>: step the clock now by the remaining correction (like chronyc makestep).</summary>
internal static class MakeStepCommand
{
    public static Command Create()
    {
        var json = ControlVerb.Json();
        var command = new Command("makestep", "step the clock now by the remaining correction (like chronyc makestep). Only root or tempusd's user may run it; prints 200 OK like chronyc." + ControlVerb.ExitCodeHelp) { json };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(json), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunActionAsync(ct => client.MakeStepAsync(ct), json, stdout, stderr, cancellationToken);
}
