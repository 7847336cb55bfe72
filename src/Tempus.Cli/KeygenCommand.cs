using System.CommandLine;
using System.Globalization;
using Tempus.Auth;

namespace Tempus.Cli;

/// <summary>
/// <c>tempusctl keygen</c>: one key line like <c>chronyc keygen [id [type [bits]]]</c>, a whole key file like
/// <c>ntp-keygen -M</c>, or a modern key set. Keys come from the OS CSPRNG; files are created 0600.
/// </summary>
internal static class KeygenCommand
{
    public static Command Create()
    {
        var id = new Argument<uint>("id") { Description = "key id", DefaultValueFactory = _ => 1, Arity = ArgumentArity.ZeroOrOne };
        var type = new Argument<string>("type") { Description = "MD5, SHA1, SHA256, SHA384, SHA512, AES128 or AES256", DefaultValueFactory = _ => "SHA1", Arity = ArgumentArity.ZeroOrOne };
        var bits = new Argument<int?>("bits") { Description = "key length in bits (digests only; AES keys have their fixed length)", Arity = ArgumentArity.ZeroOrOne };
        var ntpKeygen = new Option<bool>("--ntp-keygen") { Description = "write a key file like 'ntp-keygen -M' (MD5 ids 1-10, SHA1 ids 11-20) and the ntp.keys link" };
        var dir = new Option<string>("--dir") { Description = "directory for --ntp-keygen", DefaultValueFactory = _ => "." };
        var output = new Option<string?>("--output", "-o") { Description = "write a modern key set (AES128 ids 1-10, SHA1 ids 11-20) to this file" };
        var format = new Option<string>("--format") { Description = "key file format for --output: chrony or ntp", DefaultValueFactory = _ => "chrony" };
        format.AcceptOnlyFromAmong("chrony", "ntp");
        var command = new Command("keygen", "generate symmetric keys")
        {
            id, type, bits, ntpKeygen, dir, output, format,
        };
        command.SetAction(parse =>
        {
            try
            {
                if (parse.GetValue(ntpKeygen))
                {
                    string path = KeyGenerator.WriteNtpKeygenFiles(parse.GetValue(dir)!, Environment.MachineName, DateTime.UtcNow);
                    Console.WriteLine($"wrote {path} and {Path.Combine(Path.GetDirectoryName(path)!, "ntp.keys")} -> {Path.GetFileName(path)}");
                    return ExitCodes.Success;
                }

                if (parse.GetValue(output) is string file)
                {
                    var dialect = parse.GetValue(format) == "ntp" ? KeyFileDialect.NtpKeys : KeyFileDialect.Chrony;
                    KeyGenerator.WriteKeyFile(file, KeyGenerator.ModernKeySet(dialect));
                    Console.WriteLine($"wrote {file} (AES128 keys 1-10, SHA1 keys 11-20, {parse.GetValue(format)} format, mode 0600)");
                    return ExitCodes.Success;
                }

                string typeName = parse.GetValue(type)!;
                if (!MacAlgorithms.TryParse(typeName, out MacAlgorithm algorithm))
                {
                    Console.Error.WriteLine($"tempusctl: unknown key type '{typeName}' (expected MD5, SHA1, SHA256, SHA384, SHA512, AES128 or AES256)");
                    return ExitCodes.Usage;
                }

                int required = MacAlgorithms.RequiredKeyLength(algorithm) * 8;
                int? requested = parse.GetValue(bits);
                if (required != 0 && requested is int r && r != required)
                {
                    Console.Error.WriteLine($"tempusctl: {MacAlgorithms.ChronyName(algorithm)} keys are {required} bits, not {r}");
                    return ExitCodes.Usage;
                }

                int length = required != 0 ? required : requested ?? 160;
                if (length is < 80 or > 2048 || length % 8 != 0)
                {
                    Console.Error.WriteLine($"tempusctl: key length {length.ToString(CultureInfo.InvariantCulture)} bits must be a multiple of 8 between 80 and 2048");
                    return ExitCodes.Usage;
                }

                Console.WriteLine(KeyGenerator.ChronyLine(parse.GetValue(id), algorithm, length));
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"tempusctl: {e.Message}");
                return ExitCodes.Failure;
            }
        });
        return command;
    }
}
