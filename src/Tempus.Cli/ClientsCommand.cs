using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary>
/// <c>tempusctl clients [-k] [-p N] [-r]</c>: the NTP server's clients, with NTS-KE columns under -k; -p lists only
/// clients with at least N requests, -r zeroes the listed clients' counters (chronyc's options, same meaning).
/// </summary>
internal static class ClientsCommand
{
    public static Command Create()
    {
        var ntsKe = new Option<bool>("-k") { Description = "show NTS-KE connections instead of command requests" };
        var minPackets = new Option<long>("-p")
        {
            Description = "list only clients with at least this many NTP requests (NTS-KE connections with -k)",
            HelpName = "packets",
            DefaultValueFactory = _ => 1,
        };
        minPackets.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<long>() < 0)
            {
                result.AddError($"-p: {result.GetValueOrDefault<long>()} is negative: give a number of packets, 0 or more");
            }
        });
        var reset = new Option<bool>("-r") { Description = "zero the listed clients' request and drop counters after reporting them (root or the daemon's user)" };
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("clients", "show the NTP server's clients: requests, drops, intervals (like chronyc clients)." + ControlVerb.ExitCodeHelp) { ntsKe, minPackets, reset, json, csv };
        command.SetAction((parse, ct) => RunAsync(
            ControlVerb.Client(parse),
            new ClientQuery(parse.GetValue(ntsKe), Math.Max(1, parse.GetValue(minPackets)), parse.GetValue(reset)),
            parse.GetValue(json),
            ControlVerb.IsCsv(parse, csv),
            Console.Out,
            Console.Error,
            ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, bool ntsKe, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(client, new ClientQuery(ntsKe), json, csv, stdout, stderr, cancellationToken);

    public static Task<int> RunAsync(ControlClient client, ClientQuery query, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<ClientReport> clients = await client.GetClientsAsync(query, ct).ConfigureAwait(false);
                return json ? ControlViews.Json(clients.ToArray(), ControlJsonContext.Default.ClientReportArray) : ControlViews.Clients(clients, query.NtsKe, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
