using System.CommandLine;
using Tempus.Cli;

var root = new RootCommand("tempusctl: query NTP servers, generate keys and control tempusd")
{
    QueryCommand.Create(),
    KeygenCommand.Create(),
    NtsCertCommand.Create(),
    TrackingCommand.Create(),
    SourcesCommand.Create(),
    SourceStatsCommand.Create(),
    SelectDataCommand.Create(),
    AuthDataCommand.Create(),
    NtpDataCommand.Create(),
    ActivityCommand.Create(),
    ServerStatsCommand.Create(),
    ClientsCommand.Create(),
    MakeStepCommand.Create(),
    RekeyCommand.Create(),
    ReloadCommand.Create(),
    DumpCommand.Create(),
    OnlineCommand.Create(online: true),
    OnlineCommand.Create(online: false),
    WaitSyncCommand.Create(),
    AuditCommand.Create(),
    ControlVerb.Socket,
    ControlVerb.GlobalCsv,
    ControlVerb.GlobalNumeric,
};

ParseResult parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"tempusctl: {error.Message}");
    }

    Console.Error.WriteLine("Run 'tempusctl --help' for usage.");
    return ExitCodes.Usage;
}

return await parse.InvokeAsync().ConfigureAwait(false);
