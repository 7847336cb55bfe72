using System.Collections.Concurrent;
using System.Reflection;

namespace Tempus.Interop.Tests.Harness;

// Where the peer programs and the Tempus binaries are. Shared by every test through InteropCollection.
// Each property checks its file when asked, so a missing NTPsec fails the NTPsec tests only, and
// each failure says how to fix it.
public sealed class PeerPaths : IDisposable
{
    public const string InstallHint = "run scripts/install-test-deps.sh";

    private readonly ConcurrentDictionary<string, string> _resolved = new(StringComparer.Ordinal);

    public PeerPaths()
    {
        RepositoryRoot = FindRepositoryRoot();
        NtpsecRoot = Path.Combine(RepositoryRoot, ".deps", "ntpsec");
        NtpsecPythonPath = Path.Combine(NtpsecRoot, "usr", "lib", "python3", "dist-packages");

        // AppContext.BaseDirectory is <artifacts>/bin/Tempus.Interop.Tests/<config>/; tempusd and
        // tempusctl are built beside it as <artifacts>/bin/Tempus.Daemon/<config>/tempusd and so on.
        string baseDirectory = Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory);
        BuildConfiguration = Path.GetFileName(baseDirectory);
        BinDirectory = Path.GetFullPath(Path.Combine(baseDirectory, "..", ".."));
    }

    public string RepositoryRoot { get; }

    public string NtpsecRoot { get; }

    public string NtpsecPythonPath { get; }

    public string BuildConfiguration { get; }

    public string BinDirectory { get; }

    public string Chronyd => RequirePeer("chronyd", "/usr/sbin/chronyd");

    public string Chronyc => RequirePeer("chronyc", "/usr/bin/chronyc");

    public string Capsh => RequirePeer("capsh", "/usr/sbin/capsh", "/sbin/capsh", "/usr/bin/capsh");

    public string Python3 => RequirePeer("python3", "/usr/bin/python3");

    public string Ntpd => RequireNtpsec("ntpd", Path.Combine(NtpsecRoot, "usr", "sbin", "ntpd"));

    public string Ntpdig => RequireNtpsec("ntpdig", Path.Combine(NtpsecRoot, "usr", "bin", "ntpdig"));

    public string Ntpq => RequireNtpsec("ntpq", Path.Combine(NtpsecRoot, "usr", "bin", "ntpq"));

    public string GnutlsCli => RequirePeer("gnutls-cli", "/usr/bin/gnutls-cli");

    public string Ntpkeygen => RequireNtpsec("ntpkeygen", Path.Combine(NtpsecRoot, "usr", "sbin", "ntpkeygen"));

    public string Tempusd => RequireTempus("tempusd", "Tempus.Daemon");

    public string Tempusctl => RequireTempus("tempusctl", "Tempus.Cli");

    // The environment NTPsec's Python programs need to find their unpacked ntp module.
    public IReadOnlyDictionary<string, string> NtpsecEnvironment
    {
        get
        {
            string python = NtpsecPythonPath;
            if (!File.Exists(Path.Combine(python, "ntp", "libntpc.so")))
            {
                throw new InteropSetupException($"NTPsec's Python module not found in {python}: {InstallHint}");
            }

            return new Dictionary<string, string> { ["PYTHONPATH"] = python };
        }
    }

    public void Dispose() => PeerProcess.KillAll();

    private string RequirePeer(string name, params string[] candidates) =>
        _resolved.GetOrAdd(name, _ => FindPeer(name, candidates));

    private static string FindPeer(string name, string[] candidates)
    {
        foreach (string candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        string? onPath = Environment.GetEnvironmentVariable("PATH")?
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
        return onPath ?? throw new InteropSetupException($"{name} not found: {InstallHint}");
    }

    private static string RequireNtpsec(string name, string path) =>
        File.Exists(path) ? path : throw new InteropSetupException($"NTPsec {name} not found at {path}: {InstallHint}");

    private string RequireTempus(string name, string project)
    {
        string path = Path.Combine(BinDirectory, project, BuildConfiguration, name);
        return File.Exists(path)
            ? path
            : throw new InteropSetupException(
                $"{name} not found at {path}: build src/{project} into the same artifacts path as this test " +
                "assembly (dotnet build tests/Tempus.Interop.Tests builds it)");
    }

    private static string FindRepositoryRoot()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("TEMPUS_REPOSITORY_ROOT");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }

        string? fromBuild = typeof(PeerPaths).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Tempus.RepositoryRoot")?.Value;
        if (!string.IsNullOrEmpty(fromBuild) && Directory.Exists(fromBuild))
        {
            return Path.GetFullPath(fromBuild);
        }

        throw new InteropSetupException(
            "cannot find the repository root (the build records it; TEMPUS_REPOSITORY_ROOT overrides it)");
    }
}
