using System.Globalization;
using System.Text;

namespace Tempus.Config;

/// <summary>Text taken from a file, quoted in an error message: control characters escaped, long text cut.</summary>
internal static class DiagnosticText
{
    /// <summary>
    /// <paramref name="text"/> with control characters and lone surrogates written as <c>\xNN</c>, cut after
    /// <paramref name="maxQuoted"/> characters with "...", so garbage in a configuration, key or leap second file
    /// cannot break the message or the terminal it is shown on.
    /// </summary>
    public static string Printable(string text, int maxQuoted = 64)
    {
        var builder = new StringBuilder(Math.Min(text.Length, maxQuoted) + 8);
        foreach (char ch in text)
        {
            if (builder.Length >= maxQuoted)
            {
                builder.Append("...");
                break;
            }

            if (char.IsControl(ch) || char.IsSurrogate(ch))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)ch:x2}");
            }
            else
            {
                builder.Append(ch);
            }
        }

        return builder.ToString();
    }
}
