using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl clients [-k]</c>: the NTP server's clients, with NTS-KE columns under -k.</summary>
internal static class ClientsCommand
{
    public static Command Create()
    {
        var ntsKe = new Option<bool>("-k") { Description = "show NTS-KE connections instead of command requests" };
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("clients", "show the NTP server's clients: requests, drops, intervals (like chronyc clients)." + ControlVerb.ExitCodeHelp) { ntsKe, json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(ntsKe), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool ntsKe, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<ClientReport> clients = await client.GetClientsAsync(ntsKe, ct).ConfigureAwait(false);
                return json ? ControlViews.Json(clients.ToArray(), ControlJsonContext.Default.ClientReportArray) : ControlViews.Clients(clients, ntsKe, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
