using System.Reflection;
using System.Text.Json;

namespace Tempus.Protocol.Tests;

/// <summary>Finds and loads ../shared/reference beside the repository (the repository root holds Tempus.slnx).</summary>
internal static class ReferenceFiles
{
    private static readonly Lazy<string> s_directory = new(Locate);

    public static string Directory => s_directory.Value;

    public static JsonDocument LoadVectors(string fileName)
    {
        string path = Path.Combine(Directory, "vectors", fileName);
        return JsonDocument.Parse(File.ReadAllText(path));
    }

    public static byte[] Hex(JsonElement element) => Convert.FromHexString(element.GetString()!);

    private static string Locate()
    {
        // The test binaries may be built outside the tree (ArtifactsPath), so also start from the project
        // directory recorded at build time.
        string? projectDirectory = typeof(ReferenceFiles).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "TempusTestProjectDirectory")?.Value;

        var tried = new List<string>();
        foreach (string? start in new[] { AppContext.BaseDirectory, projectDirectory })
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Tempus.slnx")))
                {
                    string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "reference"));
                    tried.Add(candidate);
                    if (System.IO.Directory.Exists(candidate))
                    {
                        return candidate;
                    }
                }

                string beside = Path.Combine(dir.FullName, "shared", "reference");
                if (System.IO.Directory.Exists(beside))
                {
                    return beside;
                }
            }
        }

        throw new InvalidOperationException(
            "cannot find the shared reference material: expected ../shared/reference beside the repository root "
            + "(the directory holding Tempus.slnx); clone the shared folder next to the repository. Tried: "
            + (tried.Count == 0 ? "no ancestor of the test binaries or project holds Tempus.slnx" : string.Join(", ", tried)));
    }
}
