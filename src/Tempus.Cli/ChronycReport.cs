using System.Globalization;
using System.Text;
using Tempus.Protocol;

namespace Tempus.Cli;

/// <summary>
/// chronyc's <c>print_report</c>: a printf-like format with chronyc's own specifiers, printed human-readable or,
/// in CSV mode (<c>-c</c>), as comma-separated raw values with the literal text dropped. Specifiers:
/// <c>%B</c> Yes/No, <c>%C</c> client-log interval, <c>%F</c>/<c>%O</c> ppm/seconds with fast/slow,
/// <c>%I</c> seconds with unit, <c>%L</c> leap, <c>%M</c> NTP mode, <c>%N</c> timestamp source, <c>%P</c> ppm,
/// <c>%R</c> reference id in hex, <c>%S</c> seconds with ns/us/ms/s unit, <c>%T</c> UTC date, <c>%U</c>/<c>%Q</c>
/// unsigned, <c>%b</c> binary, and printf's <c>%c %d %f %o %s %u</c>.
/// </summary>
internal sealed class ChronycReport
{
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;
    private readonly StringBuilder _out = new();

    public ChronycReport(bool csv)
    {
        Csv = csv;
    }

    public bool Csv { get; }

    public override string ToString() => _out.ToString();

    /// <summary>Text printed only in human-readable mode (legends, the "200 OK" of activity).</summary>
    public void Info(string text)
    {
        if (!Csv)
        {
            _out.Append(text);
        }
    }

    /// <summary>chronyc's print_header: the header and a line of '=' as long, not in CSV mode.</summary>
    public void Header(string header)
    {
        if (!Csv)
        {
            _out.Append(header).Append('\n').Append('=', header.Length).Append('\n');
        }
    }

    public void Print(string format, params object[] args)
    {
        int arg = 0;
        int field = 0;
        int i = 0;
        while (true)
        {
            int next = format.IndexOf('%', i);
            string literal = next < 0 ? format[i..] : format[i..next];
            if (!Csv)
            {
                _out.Append(literal);
            }

            if (next < 0 || next + 1 >= format.Length)
            {
                break;
            }

            i = next + 1;
            bool sign = false;
            if (format[i] is '+' or '-')
            {
                sign = true;
                i++;
            }

            int width = 0;
            while (char.IsAsciiDigit(format[i]))
            {
                width = (width * 10) + (format[i++] - '0');
            }

            int precision = 5;
            if (format[i] == '.')
            {
                i++;
                precision = 0;
                while (char.IsAsciiDigit(format[i]))
                {
                    precision = (precision * 10) + (format[i++] - '0');
                }
            }

            char spec = format[i++];
            if (Csv)
            {
                sign = false;
                width = 0;
                if (field > 0)
                {
                    _out.Append(',');
                }

                (spec, precision) = spec switch
                {
                    'C' => ('d', precision),
                    'F' or 'P' => ('f', 3),
                    'O' or 'S' => ('f', 9),
                    'I' => ('U', precision),
                    'T' => ('V', precision),
                    _ => (spec, precision),
                };
            }

            field++;
            object value = args[arg++];
            _out.Append(spec switch
            {
                'B' => Convert.ToBoolean(value, s_c) ? "Yes" : "No",
                'C' => Convert.ToInt32(value, s_c) >= 127 ? " -" : Pad(Convert.ToInt32(value, s_c).ToString(s_c), 2, false),
                'F' or 'O' => FastSlow(Convert.ToDouble(value, s_c), width, precision, spec),
                'I' => Seconds(Convert.ToUInt32(value, s_c)),
                'L' => Leap((LeapIndicator)Convert.ToInt32(value, s_c), width == 1),
                'M' => Convert.ToInt32(value, s_c) switch { 1 => "Symmetric active", 2 => "Symmetric passive", 4 => "Server", _ => "Invalid" },
                'N' => Convert.ToChar(value, s_c) switch { 'D' => "Daemon", 'K' => "Kernel", 'H' => "Hardware", _ => "Invalid" },
                'P' => Ppm(Convert.ToDouble(value, s_c), sign),
                'R' => Convert.ToUInt32(value, s_c).ToString("X8", s_c),
                'S' => sign ? SignedNanoseconds(Convert.ToDouble(value, s_c)) : Nanoseconds(Convert.ToDouble(value, s_c)),
                'T' => ((DateTimeOffset)value).UtcDateTime.ToString("ddd MMM dd HH:mm:ss yyyy", s_c),
                'V' => EpochSeconds((DateTimeOffset)value),
                'U' or 'Q' or 'u' => Pad(Convert.ToUInt64(value, s_c).ToString(s_c), width, false),
                'b' => Binary(Convert.ToUInt32(value, s_c), precision),
                'c' => Convert.ToChar(value, s_c).ToString(),
                'd' => Pad(Convert.ToInt64(value, s_c).ToString(s_c), width, false),
                'f' => Pad(Fixed(Convert.ToDouble(value, s_c), precision, sign), width, false),
                'o' => Pad(Convert.ToString(Convert.ToInt64(value, s_c), 8), width, false),
                's' => Pad((string)value, width, sign),
                _ => throw new FormatException($"unknown report specifier %{spec}"),
            });
        }

        if (Csv)
        {
            _out.Append('\n');
        }
    }

    private static string Pad(string s, int width, bool left) =>
        s.Length >= width ? s : left ? s.PadRight(width) : s.PadLeft(width);

    // printf's %+.Nf: the sign of a negative zero after rounding is kept, as glibc does.
    internal static string Fixed(double value, int precision, bool sign)
    {
        string s = Math.Abs(value).ToString("F" + precision.ToString(s_c), s_c);
        bool negative = value < 0 || double.IsNegative(value);
        return negative ? "-" + s : sign ? "+" + s : s;
    }

    private static string FastSlow(double value, int width, int precision, char spec) =>
        $"{Pad(Math.Abs(value).ToString("F" + precision.ToString(s_c), s_c), width, false)} {(spec == 'O' ? "seconds" : "ppm")} {((value > 0.0) ^ (spec != 'O') ? "slow" : "fast")}";

    private static string Leap(LeapIndicator leap, bool letter) => leap switch
    {
        LeapIndicator.NoWarning => letter ? "N" : "Normal",
        LeapIndicator.InsertSecond => letter ? "+" : "Insert second",
        LeapIndicator.DeleteSecond => letter ? "-" : "Delete second",
        _ => letter ? "?" : "Not synchronised",
    };

    private static string Binary(uint value, int bits)
    {
        var s = new StringBuilder(bits);
        for (int b = bits - 1; b >= 0; b--)
        {
            s.Append((value & (1U << b)) != 0 ? '1' : '0');
        }

        return s.ToString();
    }

    private static string EpochSeconds(DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTime.UnixEpoch.Ticks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }

        return seconds.ToString(s_c) + "." + (rest * 100).ToString("D9", s_c);
    }

    /// <summary>chronyc's print_seconds: an age in 4 characters, "   -" for unknown.</summary>
    internal static string Seconds(uint s)
    {
        if (s == uint.MaxValue)
        {
            return "   -";
        }

        if (s < 1200)
        {
            return s.ToString(s_c).PadLeft(4);
        }

        if (s < 36000)
        {
            return (s / 60).ToString(s_c).PadLeft(3) + "m";
        }

        if (s < 345600)
        {
            return (s / 3600).ToString(s_c).PadLeft(3) + "h";
        }

        uint days = s / 86400;
        return days > 999 ? (days / 365).ToString(s_c).PadLeft(3) + "y" : days.ToString(s_c).PadLeft(3) + "d";
    }

    /// <summary>chronyc's print_nanoseconds: an absolute duration in 6 characters with its unit.</summary>
    internal static string Nanoseconds(double s)
    {
        s = Math.Abs(s);
        return s < 9999.5e-9 ? F(s * 1e9, 4, 0) + "ns"
            : s < 9999.5e-6 ? F(s * 1e6, 4, 0) + "us"
            : s < 9999.5e-3 ? F(s * 1e3, 4, 0) + "ms"
            : s < 999.5 ? F(s, 5, 1) + "s"
            : s < 99999.5 ? F(s, 5, 0) + "s"
            : s < 99999.5 * 60 ? F(s / 60, 5, 0) + "m"
            : s < 99999.5 * 3600 ? F(s / 3600, 5, 0) + "h"
            : s < 99999.5 * 3600 * 24 ? F(s / (3600 * 24), 5, 0) + "d"
            : F(s / (3600 * 24 * 365), 5, 0) + "y";
    }

    /// <summary>chronyc's print_signed_nanoseconds: a signed duration in 7 characters with its unit.</summary>
    internal static string SignedNanoseconds(double s)
    {
        double x = Math.Abs(s);
        return x < 9999.5e-9 ? SF(s * 1e9, 5, 0) + "ns"
            : x < 9999.5e-6 ? SF(s * 1e6, 5, 0) + "us"
            : x < 9999.5e-3 ? SF(s * 1e3, 5, 0) + "ms"
            : x < 999.5 ? SF(s, 6, 1) + "s"
            : x < 99999.5 ? SF(s, 6, 0) + "s"
            : x < 99999.5 * 60 ? SF(s / 60, 6, 0) + "m"
            : x < 99999.5 * 3600 ? SF(s / 3600, 6, 0) + "h"
            : x < 99999.5 * 3600 * 24 ? SF(s / (3600 * 24), 6, 0) + "d"
            : SF(s / (3600 * 24 * 365), 6, 0) + "y";
    }

    private static string Ppm(double f, bool sign) =>
        Math.Abs(f) < 99999.5 ? Pad(Fixed(f, 3, sign), 10, false) : Pad(Fixed(f, 0, sign), 10, false);

    private static string F(double v, int width, int precision) => Pad(Fixed(v, precision, false), width, false);

    private static string SF(double v, int width, int precision) => Pad(Fixed(v, precision, true), width, false);
}
