using System.Text.Json;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// NTPsec's SNTP client. It always queries port 123. With -d it logs on stderr whether the response's MAC
// verified; it still prints a result and exits 0 when the MAC fails, so success means exit 0, a JSON result
// and "MAC verification on reply from ... succeeded".
public static class Ntpdig
{
    public static async Task<NtpdigResult> QueryAsync(PeerPaths paths, ITestOutputHelper output, string host, string? keyFile = null, int? keyId = null, int timeoutSeconds = 3)
    {
        List<string> arguments = [paths.Ntpdig, "-d", "-j", "-t", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (keyFile is not null && keyId is not null)
        {
            arguments.AddRange(["-k", keyFile, "-a", keyId.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }

        arguments.Add(host);
        CommandResult result = await CommandLine.RunAsync(paths.Python3, arguments, TimeSpan.FromSeconds(timeoutSeconds + 15), output, paths.NtpsecEnvironment);
        return new NtpdigResult(host, result);
    }
}

public sealed record NtpdigResult(string Host, CommandResult Command)
{
    public bool MacVerified => Command.Stderr.Contains($"MAC verification on reply from {Host} succeeded", StringComparison.Ordinal);

    public bool MacFailed => Command.Stderr.Contains($"MAC verification on reply from {Host} failed", StringComparison.Ordinal);

    // ntpdig -j prints one JSON object: time, offset, precision, host, ip, stratum, leap, adjusted.
    public JsonElement? Json
    {
        get
        {
            string? line = Command.Stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'));
            if (line is null)
            {
                return null;
            }

            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }
    }

    public int? Stratum => Json?.GetProperty("stratum").GetInt32();

    public string? Leap => Json?.GetProperty("leap").GetString();
}
