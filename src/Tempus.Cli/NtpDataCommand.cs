using System.CommandLine;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary><c>tempusctl ntpdata [ADDRESS]</c>: chronyc's per-source NTP details of the last exchange.</summary>
internal static class NtpDataCommand
{
    public static Command Create()
    {
        var address = new Argument<string?>("address") { Description = "a source's address or name; all sources when omitted", Arity = ArgumentArity.ZeroOrOne };
        var json = ControlVerb.Json();
        var csv = ControlVerb.Csv();
        var command = new Command("ntpdata", "show the last NTP exchange with each source or with ADDRESS (like chronyc ntpdata)." + ControlVerb.ExitCodeHelp) { address, json, csv };
        command.SetAction((parse, ct) => RunAsync(ControlVerb.Client(parse), parse.GetValue(address), parse.GetValue(json), ControlVerb.IsCsv(parse, csv), Console.Out, Console.Error, ct));
        return command;
    }

    public static Task<int> RunAsync(ControlClient client, string? address, bool json, bool csv, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        ControlVerb.RunAsync(
            async ct =>
            {
                IReadOnlyList<SourceReport> all = await client.GetSourcesAsync(ct).ConfigureAwait(false);
                SourceReport[] chosen = address is null
                    ? [.. all.Where(s => s.Address.Length > 0)]
                    : [.. all.Where(s => string.Equals(s.Address, address, StringComparison.OrdinalIgnoreCase) || string.Equals(s.Name, address, StringComparison.OrdinalIgnoreCase))];
                if (address is not null && chosen.Length == 0)
                {
                    throw new ControlClientException(ControlClientError.CommandFailed, $"no source has the address or name '{address}' (tempusctl sources lists them)", ControlErrorCodes.NoSuchSource);
                }

                return json ? ControlViews.Json(chosen, ControlJsonContext.Default.SourceReportArray) : ControlViews.NtpData(chosen, blankLineBefore: address is null && !csv, csv);
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
