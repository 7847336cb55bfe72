using System.Diagnostics;
using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Tls;

namespace Tempus.LoadGen;

/// <summary>
/// What both servers share, made once in a private temporary directory: one AES128 key (id 1) in a chrony-format
/// key file, a private CA and an NTS-KE server certificate for 127.0.0.1/localhost, and the configuration lines.
/// </summary>
internal sealed class BenchSetup : IDisposable
{
    public const uint KeyId = 1;
    public const int LocalStratum = 8;

    private BenchSetup(LoadGenOptions options, string directory, byte[] keyBytes, string keyFile, PrivateCertificateAuthority.Files pki)
    {
        Options = options;
        Directory = directory;
        KeyFile = keyFile;
        Pki = pki;
        Key = new SymmetricKey(KeyId, MacAlgorithm.Aes128Cmac, keyBytes, keyFile + ":1");
    }

    public LoadGenOptions Options { get; }

    public string Directory { get; }

    public string KeyFile { get; }

    public SymmetricKey Key { get; }

    public PrivateCertificateAuthority.Files Pki { get; }

    /// <summary>Whether tempusd understands clientloglimit; if not, neither config has it and chrony keeps its default.</summary>
    public bool ClientLogLimitShared { get; private set; }

    public static BenchSetup Create(LoadGenOptions options)
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("tempus-bench-").FullName;
        try
        {
            byte[] keyBytes = RandomNumberGenerator.GetBytes(16);
            string keyFile = Path.Combine(directory, "bench.keys");
            KeyGenerator.WriteKeyFile(keyFile, $"{KeyId} AES128 HEX:{Convert.ToHexString(keyBytes)}\n");
            PrivateCertificateAuthority.Files pki = PrivateCertificateAuthority.Create(
                Path.Combine(directory, "pki"), ["localhost", "127.0.0.1"], TimeSpan.FromDays(2), DateTimeOffset.UtcNow);
            var setup = new BenchSetup(options, directory, keyBytes, keyFile, pki);
            setup.ClientLogLimitShared = options.Only == "chrony" || setup.TempusdAccepts($"clientloglimit {options.ClientLogLimit}");
            return setup;
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>The directives both daemons get, in chrony.conf syntax that tempusd reads too.</summary>
    public IEnumerable<string> CommonDirectives(int port, int ntsPort, string ntsDumpDirectory)
    {
        yield return $"port {port}";
        yield return "bindaddress 127.0.0.1";
        yield return "allow 127.0.0.1";
        yield return $"local stratum {LocalStratum}";
        yield return $"keyfile {KeyFile}";
        yield return $"ntsservercert {Pki.Server.CertificateChainFile}";
        yield return $"ntsserverkey {Pki.Server.PrivateKeyFile}";
        yield return $"ntsport {ntsPort}";
        yield return $"ntsdumpdir {ntsDumpDirectory}";
        if (ClientLogLimitShared)
        {
            yield return $"clientloglimit {Options.ClientLogLimit}";
        }
    }

    public void Dispose()
    {
        Key.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // tempusd --check-config on a config holding just the directive: exit 0 means it is understood.
    private bool TempusdAccepts(string directive)
    {
        string path = Path.Combine(Directory, "probe.conf");
        File.WriteAllText(path, $"{directive}\n");
        var info = new ProcessStartInfo(Options.TempusdPath) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in (string[])["--check-config", "-f", path])
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            using Process process = Process.Start(info) ?? throw new BenchmarkException($"cannot run {Options.TempusdPath}");
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(30_000))
            {
                process.Kill();
                throw new BenchmarkException($"{Options.TempusdPath} --check-config did not finish within 30 s");
            }

            // A directive tempusd reads but ignores comes back as a warning naming it: not shared either.
            string name = directive.Split(' ')[0];
            return process.ExitCode == 0
                && !output.Result.Contains(name, StringComparison.Ordinal)
                && !error.Result.Contains(name, StringComparison.Ordinal);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BenchmarkException($"cannot run {Options.TempusdPath}: {e.Message} (build it: scripts/bench-server.sh does)");
        }
    }
}
