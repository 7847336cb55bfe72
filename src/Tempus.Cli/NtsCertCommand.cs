using System.CommandLine;
using Tempus.Tls;

namespace Tempus.Cli;

/// <summary>
/// <c>tempusctl ntscert</c>: a private CA and an NTS-KE server certificate for a network no public CA serves.
/// </summary>
internal static class NtsCertCommand
{
    public static Command Create()
    {
        var dir = new Option<string>("--dir") { Description = "directory for ca.crt, server.crt and server.key (0600)", DefaultValueFactory = _ => "." };
        var names = new Option<string[]>("--name") { Description = "a host name or address clients use for the server (repeatable)", DefaultValueFactory = _ => ["localhost", "127.0.0.1", "::1"] };
        var days = new Option<int>("--days") { Description = "validity of the server certificate in days", DefaultValueFactory = _ => 365 };
        var command = new Command("ntscert", "make a private CA and an NTS-KE server certificate (for ntsservercert/ntsserverkey and ntstrustedcerts)")
        {
            dir, names, days,
        };
        command.SetAction(parse =>
        {
            int validity = parse.GetValue(days);
            if (validity is < 1 or > 3650)
            {
                Console.Error.WriteLine("tempusctl: --days must be 1-3650");
                return ExitCodes.Usage;
            }

            try
            {
                PrivateCertificateAuthority.Files files = PrivateCertificateAuthority.Create(
                    parse.GetValue(dir)!, parse.GetValue(names)!, TimeSpan.FromDays(validity), DateTimeOffset.UtcNow);
                Console.WriteLine($"ntsservercert {files.Server.CertificateChainFile}");
                Console.WriteLine($"ntsserverkey {files.Server.PrivateKeyFile}");
                Console.WriteLine($"# clients: ntstrustedcerts {files.CaCertificateFile}");
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                Console.Error.WriteLine($"tempusctl: {e.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }
}
