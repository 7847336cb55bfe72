using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// NTPsec's ntpkeygen writes ntpkey_AES_<host>.<seconds> in the current directory and links ntp.keys to
// it. NTPsec 1.2.2 makes AES-128-CMAC keys only: ids 1-10 as 16 printable characters, 11-20 as 32 hex
// digits (the MD5/SHA1 set of classic ntp-keygen -M is gone).
public static class NtpKeygen
{
    public static async Task<string> GenerateAsync(PeerPaths paths, ITestOutputHelper output, string directory)
    {
        CommandResult result = await CommandLine.RunAsync(paths.Python3, [paths.Ntpkeygen], TimeSpan.FromSeconds(30), output, paths.NtpsecEnvironment, directory);
        string link = Path.Combine(directory, "ntp.keys");
        if (result.ExitCode != 0 || !File.Exists(link))
        {
            throw new InteropSetupException($"ntpkeygen did not write {link}:\n{result}");
        }

        output.WriteLine($"{link}:\n{File.ReadAllText(link)}");
        return link;
    }

    // The key lines of an NTPsec key file: id, type, key (comments and blank lines dropped).
    public static IReadOnlyList<(int Id, string Type, string Key)> ReadKeys(string path) =>
        File.ReadAllLines(path)
            .Select(line => line.Contains('#', StringComparison.Ordinal) ? line[..line.IndexOf('#', StringComparison.Ordinal)] : line)
            .Select(line => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            .Where(words => words.Length >= 3)
            .Select(words => (int.Parse(words[0], System.Globalization.CultureInfo.InvariantCulture), words[1], words[2]))
            .ToList();
}
