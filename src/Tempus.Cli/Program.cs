using System.CommandLine;
using Tempus.Cli;

var root = new RootCommand("tempusctl: query NTP servers, generate keys and control tempusd")
{
    QueryCommand.Create(),
    KeygenCommand.Create(),
    NtsCertCommand.Create(),
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
