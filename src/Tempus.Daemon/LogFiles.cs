using System.Globalization;
using System.Text;
using Tempus.Control;
using Tempus.Selection;
using Tempus.Sources;

namespace Tempus.Daemon;

/// <summary>
/// chrony's <c>log</c> files under <c>logdir</c>: <c>measurements.log</c> (every accepted sample), <c>statistics.log</c>
/// (each source's regression after a sample), <c>tracking.log</c> (every clock update) and <c>selection.log</c>
/// (each source's selection state), with chrony's column banner repeated every 32 lines so a file read from the
/// middle still says what its columns are. Signs are chrony's (offset = local − reference) so existing log
/// readers keep working. Appends only; a file that cannot be written is reported once and then skipped.
/// </summary>
internal sealed class LogFiles : IDisposable
{
    private const int BannerEvery = 32;

    private readonly Dictionary<string, Writer> _writers = new(StringComparer.Ordinal);
    private readonly Action<string> _onError;

    public LogFiles(string directory, IEnumerable<string> kinds, Action<string> onError)
    {
        _onError = onError;
        foreach (string kind in kinds)
        {
            string? banner = kind switch
            {
                "measurements" or "rawmeasurements" =>
                    "   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx",
                "statistics" =>
                    "   Date (UTC) Time     IP Address    Std dev'n Est offset  Offset sd  Diff freq   Est skew  Stress  Ns  Bs  Nr  Asym",
                "tracking" =>
                    "   Date (UTC) Time     IP Address   St   Freq ppm   Skew ppm     Offset L Co  Offset sd Rem. corr. Root delay Root disp. Max. error",
                "selection" =>
                    "   Date (UTC) Time     IP Address   S EOpts Reason",
                _ => null, // rtc, refclocks, tempcomp: Tempus has no RTC driver, reference clocks or compensation to log.
            };
            string name = kind == "rawmeasurements" ? "measurements" : kind;
            if (banner is not null && !_writers.ContainsKey(name))
            {
                _writers[name] = new Writer(Path.Combine(directory, name + ".log"), banner);
            }
        }
    }

    public bool Logs(string kind) => _writers.ContainsKey(kind);

    public void Measurement(SourceReport s, long unixNs)
    {
        Write("measurements", string.Create(CultureInfo.InvariantCulture,
            $"{Stamp(unixNs)} {Address(s),-15} {LeapChar(s.Leap)} {s.Stratum,2} {Tests(s.NtpTests)} {s.Poll,3} {s.Poll,2} {1.0,4:F2} {Sci(s.MeasuredOffset),10} {Sci(s.PeerDelay),10} {Sci(s.PeerDispersion),10} {Sci(s.SourceRootDelay),10} {Sci(s.SourceRootDispersion),10} {s.SourceReferenceId:X8} {ModeChar(s)}B {(s.KernelTxTimestamp ? 'K' : 'D')} {(s.KernelRxTimestamp ? 'K' : 'D')}"));
    }

    public void Statistics(SourceReport s, long unixNs)
    {
        Write("statistics", string.Create(CultureInfo.InvariantCulture,
            $"{Stamp(unixNs)} {Address(s),-15} {Sci(s.StandardDeviation),10} {Sci(-s.EstimatedOffset),10} {Sci(s.ErrorBound),10} {Sci(-s.FrequencyPpm * 1e-6),10} {Sci(s.SkewPpm * 1e-6),10} {"0e+00",7} {s.SampleCount,3} {0,3} {s.Runs,3} {0.0,5:F2}"));
    }

    public void Tracking(TrackingReport t, long unixNs)
    {
        string name = t.ReferenceName.Length > 0 ? t.ReferenceName : t.ReferenceId.ToString("X8", CultureInfo.InvariantCulture);
        Write("tracking", string.Create(CultureInfo.InvariantCulture,
            $"{Stamp(unixNs)} {name,-15} {t.Stratum,2} {-t.FrequencyPpm,10:F3} {t.SkewPpm,10:F3} {Sci(-t.LastOffset),10} {LeapChar(t.Leap)} {0,2} {Sci(t.RmsOffset),10} {Sci(-t.SystemTimeOffset),10} {Sci(t.RootDelay),10} {Sci(t.RootDispersion),10} {Sci(t.RootDelay / 2 + t.RootDispersion),10}"));
    }

    public void Selection(SourceReport s, long unixNs)
    {
        var selection = new SourceSelection(s.Name, s.Status, s.StatusReason);
        Write("selection", string.Create(CultureInfo.InvariantCulture,
            $"{Stamp(unixNs)} {Address(s),-15} {selection.SelectDataState} {Options(s.SelectOptions)} {s.StatusReason}"));
    }

    public void Dispose()
    {
        foreach (Writer writer in _writers.Values)
        {
            writer.Dispose();
        }
    }

    private void Write(string kind, string line)
    {
        if (!_writers.TryGetValue(kind, out Writer? writer) || writer.Failed)
        {
            return;
        }

        try
        {
            writer.WriteLine(line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            writer.Failed = true;
            _onError($"cannot write {writer.Path}: {e.Message}; {kind} logging stops");
        }
    }

    // chrony's %.3e: two-digit exponent.
    private static string Sci(double value) => value.ToString("0.000e+00", CultureInfo.InvariantCulture);

    private static string Stamp(long unixNs) =>
        DateTime.UnixEpoch.AddTicks(unixNs / 100).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Address(SourceReport s) => s.Address.Length > 0 ? s.Address : s.Name;

    private static char LeapChar(Protocol.LeapIndicator leap) => leap switch
    {
        Protocol.LeapIndicator.NoWarning => 'N',
        Protocol.LeapIndicator.InsertSecond => '+',
        Protocol.LeapIndicator.DeleteSecond => '-',
        _ => '?',
    };

    private static char ModeChar(SourceReport s) => s.Mode == 4 ? '4' : '?';

    private static string Tests(string tests) => tests.Length > 0 ? tests : "--- --- ----";

    private static string Options(SourceSelectOptions o) => string.Concat(
        (o & SourceSelectOptions.NoSelect) != 0 ? 'N' : '-',
        (o & SourceSelectOptions.Prefer) != 0 ? 'P' : '-',
        (o & SourceSelectOptions.Trust) != 0 ? 'T' : '-',
        (o & SourceSelectOptions.Require) != 0 ? 'R' : '-');

    private sealed class Writer(string path, string banner) : IDisposable
    {
        private StreamWriter? _stream;
        private int _lines;

        public string Path { get; } = path;

        public bool Failed { get; set; }

        public void WriteLine(string line)
        {
            _stream ??= new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
            if (_lines++ % BannerEvery == 0)
            {
                _stream.WriteLine(new string('=', banner.Length));
                _stream.WriteLine(banner);
                _stream.WriteLine(new string('=', banner.Length));
            }

            _stream.WriteLine(line);
        }

        public void Dispose() => _stream?.Dispose();
    }
}
