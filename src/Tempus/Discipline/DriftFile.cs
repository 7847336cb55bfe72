using System.Globalization;
using System.Text;
using Tempus.Storage;

namespace Tempus.Discipline;

/// <summary>What reading a drift file gave: the frequency to start with, or why the file was not used.</summary>
/// <param name="Path">The file read.</param>
/// <param name="Found">Whether the file existed.</param>
/// <param name="ClockFrequencyPpm">
/// The correction to start with, in Tempus's sign (<see cref="Clock.IClockControl.FrequencyPpm"/>: positive = the
/// clock is made to run faster); 0 when the file was missing or bad.
/// </param>
/// <param name="SkewPpm">The error bound of that frequency, ppm; null when the file was missing or bad.</param>
/// <param name="Error">Why the content was not used (names the file, the problem and what happens next), or null.</param>
public sealed record DriftFileReading(string Path, bool Found, double ClockFrequencyPpm, double? SkewPpm, string? Error)
{
    /// <summary>Whether a frequency was read and should be applied.</summary>
    public bool IsValid => Found && Error is null;
}

/// <summary>
/// chrony's drift file: one line "<c>FREQUENCY SKEW</c>", both in ppm, written <c>%20.6f %20.6f</c>. Files are
/// interchangeable with chronyd's.
/// </summary>
/// <remarks>
/// Sign: chrony keeps the clock's <em>absolute frequency</em>, which its timex driver turns into the kernel value as
/// <c>timex.freq = −frequency·2¹⁶</c> (sys_timex.c). So the number in the file is positive when the uncorrected
/// oscillator runs fast (gains) and chronyd slows it down, which is what <c>chronyc tracking</c> prints as
/// "N ppm fast". <see cref="Clock.IClockControl.FrequencyPpm"/> is the correction added to the rate (positive =
/// faster), hence <c>file = −FrequencyPpm</c> in both directions: a clock that gains 12 ppm is corrected with
/// <c>SetFrequency(−12)</c> and its drift file says <c>12.000000</c>.
/// </remarks>
public static class DriftFile
{
    /// <summary>The largest file accepted: the format is one short line.</summary>
    public const int MaxFileBytes = 4096;

    /// <summary>The largest frequency accepted, ppm: chrony's <c>maxdrift</c> ceiling.</summary>
    public const double MaxFrequencyPpm = 500_000;

    /// <summary>
    /// Reads <paramref name="path"/>. A missing file is not an error (first start); unreadable or malformed content
    /// is reported in <see cref="DriftFileReading.Error"/> and the caller starts from 0, as chronyd does.
    /// </summary>
    /// <param name="path">The drift file.</param>
    /// <returns>The frequency to start with, or why there is none.</returns>
    public static DriftFileReading Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (stream.Length > MaxFileBytes)
            {
                return Bad(path, $"{stream.Length} bytes, more than the {MaxFileBytes} a drift file can hold");
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return new DriftFileReading(path, Found: false, 0, null, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new DriftFileReading(path, Found: true, 0, null,
                $"cannot read drift file {path}: {e.Message}; starting with frequency 0 ppm");
        }

        return Parse(path, bytes);
    }

    /// <summary>Parses drift-file content; <paramref name="path"/> only names the file in messages.</summary>
    /// <param name="path">The file the content came from.</param>
    /// <param name="content">The bytes of the file.</param>
    /// <returns>The frequency to start with, or why there is none.</returns>
    public static DriftFileReading Parse(string path, ReadOnlySpan<byte> content)
    {
        if (content.Length > MaxFileBytes)
        {
            return Bad(path, $"{content.Length} bytes, more than the {MaxFileBytes} a drift file can hold");
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(content);
        }
        catch (DecoderFallbackException)
        {
            return Bad(path, "not text");
        }

        string[] fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 2)
        {
            return Bad(path, $"expected two numbers \"FREQUENCY SKEW\" in ppm, found {fields.Length} field(s)");
        }

        if (!TryNumber(fields[0], out double frequency) || Math.Abs(frequency) > MaxFrequencyPpm)
        {
            return Bad(path, $"frequency \"{Shorten(fields[0])}\" is not a number of ppm within ±{MaxFrequencyPpm}");
        }

        if (!TryNumber(fields[1], out double skew) || skew < 0)
        {
            return Bad(path, $"skew \"{Shorten(fields[1])}\" is not a non-negative number of ppm");
        }

        return new DriftFileReading(path, Found: true, -frequency, skew, null);
    }

    /// <summary>The file's content for a correction (Tempus sign) and skew, in chrony's layout.</summary>
    /// <param name="clockFrequencyPpm">The correction applied, <see cref="Clock.IClockControl.FrequencyPpm"/>.</param>
    /// <param name="skewPpm">Its error bound, ppm.</param>
    /// <returns>One line, newline-terminated.</returns>
    public static string Format(double clockFrequencyPpm, double skewPpm) =>
        string.Create(CultureInfo.InvariantCulture, $"{-clockFrequencyPpm,20:F6} {skewPpm,20:F6}\n");

    /// <summary>Writes the drift file atomically (<see cref="AtomicFile"/>).</summary>
    /// <param name="path">The drift file.</param>
    /// <param name="clockFrequencyPpm">The correction applied, <see cref="Clock.IClockControl.FrequencyPpm"/>.</param>
    /// <param name="skewPpm">Its error bound, ppm.</param>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static void Write(string path, double clockFrequencyPpm, double skewPpm)
    {
        if (!double.IsFinite(clockFrequencyPpm) || !double.IsFinite(skewPpm))
        {
            throw new ArgumentOutOfRangeException(nameof(clockFrequencyPpm), $"drift file {path}: frequency {clockFrequencyPpm} and skew {skewPpm} must be finite");
        }

        AtomicFile.Write(path, Encoding.ASCII.GetBytes(Format(clockFrequencyPpm, skewPpm)));
    }

    private static bool TryNumber(string field, out double value) =>
        double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string Shorten(string field) => field.Length <= 32 ? field : field[..32] + "...";

    private static DriftFileReading Bad(string path, string problem) =>
        new(path, Found: true, 0, null, $"drift file {path} ignored: {problem}; starting with frequency 0 ppm");
}
