using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl reload sources</c>: re-read the sourcedir files.</summary>
internal static class ReloadCommand
{
    public static Command Create()
    {
        var what = new Argument<string>("what") { Description = "what to reload: sources" };
        what.AcceptOnlyFromAmong("sources");
        var json = ControlVerb.Json();
        var command = new Command("reload", "reload sources: re-read the sourcedir files (like chronyc reload sources). Only root or tempusd's user may run it; prints 200 OK." + ControlVerb.ExitCodeHelp) { what, json };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(json), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunActionAsync(client.ReloadSourcesAsync, json, stdout, stderr, cancellationToken);
}
