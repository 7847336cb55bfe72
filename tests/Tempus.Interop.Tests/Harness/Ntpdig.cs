using System.Text.Json;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// NTPsec's SNTP client. It always queries port 123. With -d it logs on stderr whether the response's MAC
// verified, so success means exit 0, a JSON result and "MAC verification on reply from ... succeeded".
// ntpdig 1.2.2 cannot report a failed MAC: it dies with "AttributeError: 'bytes' object has no attribute
// 'trusted'" (read_append sets the flag on the request bytes). With -D 2 it also dumps the packets it
// sent and received in hex on stdout.
public static class Ntpdig
{
    public static async Task<NtpdigResult> QueryAsync(PeerPaths paths, ITestOutputHelper output, string host, string? keyFile = null, int? keyId = null, int timeoutSeconds = 3, bool dumpPackets = false)
    {
        List<string> arguments = [paths.Ntpdig, dumpPackets ? "-D2" : "-d", "-j", "-t", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)];
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

    // The packets from the -D 2 hex dumps, in order (request, then response). Each dump is lines of up to
    // 16 hex bytes followed by their printable form; a line with fewer than 16 bytes ends a packet.
    public IReadOnlyList<byte[]> DumpedPackets
    {
        get
        {
            var packets = new List<byte[]>();
            var current = new List<byte>();
            foreach (string line in Command.Stdout.Split('\n'))
            {
                string hex = line.Length >= 48 ? line[..48] : line;
                string[] words = hex.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0 || !words.All(w => w.Length == 2 && w.All(char.IsAsciiHexDigit)))
                {
                    continue;
                }

                current.AddRange(words.Select(w => Convert.ToByte(w, 16)));
                if (words.Length < 16)
                {
                    packets.Add([.. current]);
                    current.Clear();
                }
            }

            if (current.Count > 0)
            {
                packets.Add([.. current]);
            }

            return packets;
        }
    }

    public int? Stratum => Json?.GetProperty("stratum").GetInt32();

    public string? Leap => Json?.GetProperty("leap").GetString();
}
