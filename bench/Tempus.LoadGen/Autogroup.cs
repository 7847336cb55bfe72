using System.Globalization;

namespace Tempus.LoadGen;

/// <summary>
/// The scheduler autogroup of this process's session (sched(7) "The autogroup feature"): when it is on, CPU time
/// is shared between sessions first, so a benchmark's nice value alone does not lift it above other sessions' work.
/// </summary>
internal static class Autogroup
{
    private const string Path = "/proc/self/autogroup";

    /// <summary>Sets the session group's nice value; returns the previous one, or null when autogroup is off or unwritable.</summary>
    public static string? SetNice(int nice)
    {
        try
        {
            // "/autogroup-9 nice 0"
            string[] fields = File.ReadAllText(Path).Trim().Split(' ');
            string previous = fields[^1];
            File.WriteAllText(Path, nice.ToString(CultureInfo.InvariantCulture));
            return previous;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"tempus-loadgen: cannot set the session's autogroup nice ({e.Message}); --nice applies inside the session only");
            return null;
        }
    }

    /// <summary>Puts back the value <see cref="SetNice"/> returned.</summary>
    public static void Restore(string? previous)
    {
        if (previous is null)
        {
            return;
        }

        try
        {
            File.WriteAllText(Path, previous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"tempus-loadgen: could not restore the session's autogroup nice to {previous}: {e.Message}");
        }
    }
}
