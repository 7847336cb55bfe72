using System.Text.Json;

namespace Tempus.Tests.TestData;

/// <summary>Finds the shared reference material (RFC vectors) for tests.</summary>
internal static class ReferenceVectors
{
    private static readonly Lazy<string> s_vectorsDirectory = new(FindVectorsDirectory);

    /// <summary>The vectors directory: &lt;repo root&gt;/../shared/reference/vectors, else /work/shared/reference/vectors.</summary>
    public static string VectorsDirectory => s_vectorsDirectory.Value;

    /// <summary>Parses one vector file; fails with the paths searched when it is missing.</summary>
    public static JsonDocument Load(string fileName)
    {
        string path = Path.Combine(VectorsDirectory, fileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"test vector file {path} is missing: the shared reference material must be checked out beside the repository", path);
        }

        return JsonDocument.Parse(File.ReadAllText(path));
    }

    private static string FindVectorsDirectory()
    {
        var searched = new List<string>();
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tempus.slnx")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "reference", "vectors"));
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }

                searched.Add(candidate);
                break;
            }
        }

        // Tests built with an artifacts path outside the repository do not sit under the root.
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tempus.slnx")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "reference", "vectors"));
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }

                searched.Add(candidate);
                break;
            }
        }

        const string Fallback = "/work/shared/reference/vectors";
        if (Directory.Exists(Fallback))
        {
            return Fallback;
        }

        searched.Add(Fallback);
        throw new DirectoryNotFoundException($"reference vectors not found; searched: {string.Join(", ", searched)}");
    }
}
