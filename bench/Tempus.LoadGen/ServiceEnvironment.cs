using System.Reflection;

namespace Tempus.LoadGen;

/// <summary>
/// The <c>Environment=</c> lines of dist/tempusd.service, so the benchmark measures tempusd as systemd starts it (the
/// unit sets the GC's gen0 budget, which the .NET runtime reads only from the environment).
/// </summary>
internal static class ServiceEnvironment
{
    /// <summary>dist/tempusd.service of the tree this generator was built from.</summary>
    public static string UnitPath { get; } = Path.Combine(
        typeof(ServiceEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value
            ?? throw new InvalidOperationException("the load generator carries no RepositoryRoot"),
        "dist",
        "tempusd.service");

    private static readonly Lazy<IReadOnlyList<(string Key, string Value)>> s_tempusd = new(() => Read(UnitPath));

    /// <summary>The variables the unit gives tempusd.</summary>
    public static IReadOnlyList<(string Key, string Value)> Tempusd => s_tempusd.Value;

    /// <summary>Text for the report: "VAR=value ..." or "none".</summary>
    public static string Describe() => Tempusd.Count == 0 ? "none" : string.Join(' ', Tempusd.Select(e => $"{e.Key}={e.Value}"));

    /// <summary>
    /// Reads the <c>Environment=</c> assignments of a unit's [Service] section: space-separated KEY=VALUE words;
    /// quoting and specifiers are refused (the unit does not use them), so nothing is silently misread.
    /// </summary>
    public static IReadOnlyList<(string Key, string Value)> Read(string unitPath)
    {
        if (!File.Exists(unitPath))
        {
            throw new BenchmarkException($"{unitPath}: not found: the benchmark starts tempusd with the unit's environment");
        }

        var result = new List<(string, string)>();
        int number = 0;
        foreach (string raw in File.ReadLines(unitPath))
        {
            number++;
            string line = raw.Trim();
            if (!line.StartsWith("Environment=", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (string word in line["Environment=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                int equals = word.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0 || word.AsSpan().IndexOfAny("\"'%\\$") >= 0)
                {
                    throw new BenchmarkException($"{unitPath}:{number}: '{word}' is not a plain KEY=VALUE assignment");
                }

                result.Add((word[..equals], word[(equals + 1)..]));
            }
        }

        return result;
    }
}
