using System.Globalization;

namespace Tempus.Control;

/// <summary>Group names and ids from <c>/etc/group</c> (bounded read; NSS sources such as LDAP are not consulted).</summary>
internal static class UnixGroups
{
    private const int MaxFileLength = 1 << 20;

    public static bool TryGetGroupId(string name, out uint gid, string path = "/etc/group")
    {
        foreach ((string n, uint g) in Read(path))
        {
            if (n == name)
            {
                gid = g;
                return true;
            }
        }

        gid = 0;
        return false;
    }

    public static string? TryGetGroupName(uint gid, string path = "/etc/group")
    {
        foreach ((string n, uint g) in Read(path))
        {
            if (g == gid)
            {
                return n;
            }
        }

        return null;
    }

    private static List<(string Name, uint Gid)> Read(string path)
    {
        var groups = new List<(string, uint)>();
        string text;
        try
        {
            using var file = File.OpenRead(path);
            if (file.Length > MaxFileLength)
            {
                return groups;
            }

            using var reader = new StreamReader(file);
            text = reader.ReadToEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return groups;
        }

        foreach (string line in text.Split('\n'))
        {
            // name:password:gid:members
            string[] fields = line.Split(':');
            if (fields.Length >= 3 && fields[0].Length > 0 && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid))
            {
                groups.Add((fields[0], gid));
            }
        }

        return groups;
    }
}
