using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl online [ADDRESS]</c> and <c>tempusctl offline [ADDRESS]</c>: start or stop polling sources.</summary>
internal static class OnlineCommand
{
    public static Command Create(bool online)
    {
        var address = new Argument<string?>("address") { Description = "a source's address or name; every source when omitted", Arity = ArgumentArity.ZeroOrOne };
        var json = ControlVerb.Json();
        string verb = online ? "online" : "offline";
        var command = new Command(verb, $"{(online ? "start polling" : "stop polling")} ADDRESS or every source (like chronyc {verb}). Only root or tempusd's user may run it; prints 200 OK." + ControlVerb.ExitCodeHelp) { address, json };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(address), online, parse.GetValue(json), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, string? address, bool online, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunActionAsync(ct => client.SetOnlineAsync(address, online, ct), json, stdout, stderr, cancellationToken);
}
