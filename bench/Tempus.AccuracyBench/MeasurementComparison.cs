using System.Globalization;

namespace Tempus.AccuracyBench;

/// <summary>
/// A client's own measurements (its <c>measurements.log</c>, chrony's format) set against the same exchanges as the
/// emulator saw them at the client's front. Over each exchange, the client's delay less the front's is the time its
/// own timestamps add (T1 read before the datagram left, T4 after it arrived); its offset less the front's, plus its
/// clock's error at that moment, is the bias its timestamps add (half the T1 lag, less half the T4 lag). What is left
/// of a client's error beyond the path's bias and this is its filtering and discipline.
/// </summary>
internal sealed record MeasurementComparison(int Matched, int Logged, double DelayExcessMedian, double OffsetExcessMedian, bool ChronySign)
{
    private const int MaxLines = 100_000;

    /// <summary>Matches each logged sample to the unmatched exchange of this front with the nearest delay, answered within its second.</summary>
    /// <param name="logPath">The client's measurements.log.</param>
    /// <param name="exchanges">The emulator's exchanges of this client's front.</param>
    /// <param name="clockError">The client's clock error (seconds, the bench's sign) at a CLOCK_REALTIME instant, or NaN.</param>
    public static MeasurementComparison Of(string logPath, IReadOnlyList<Exchange> exchanges, Func<long, double> clockError)
    {
        List<(long SecondNs, double Offset, double Delay)> logged = Read(logPath);
        var used = new bool[exchanges.Count];
        var pairs = new List<(Exchange Exchange, double Offset, double Delay)>();
        foreach ((long secondNs, double offset, double delay) in logged)
        {
            int best = -1;
            for (int i = 0; i < exchanges.Count; i++)
            {
                // The log's stamp is the processing time truncated to the second: the response left the front before it.
                long sent = exchanges[i].ResponseSentNs;
                if (!used[i] && sent >= secondNs - 2_000_000_000 && sent < secondNs + 1_000_000_000
                    && (best < 0 || Math.Abs(exchanges[i].FrontDelay - delay) < Math.Abs(exchanges[best].FrontDelay - delay)))
                {
                    best = i;
                }
            }

            if (best >= 0 && Math.Abs(exchanges[best].FrontDelay - delay) < 0.002)
            {
                used[best] = true;
                pairs.Add((exchanges[best], offset, delay));
            }
        }

        if (pairs.Count == 0)
        {
            return new MeasurementComparison(0, logged.Count, double.NaN, double.NaN, true);
        }

        // chrony logs θ (positive: the local clock is behind the server). Which sign a client logs is found from the
        // data: the offsets follow the front's by the jitter's milliseconds, far beyond any clock error.
        double sameSign = Median(pairs.Select(p => Math.Abs(p.Offset - p.Exchange.FrontOffset)));
        double flipped = Median(pairs.Select(p => Math.Abs(-p.Offset - p.Exchange.FrontOffset)));
        bool chronySign = sameSign <= flipped;
        double sign = chronySign ? 1 : -1;
        double delayExcess = Median(pairs.Select(p => p.Delay - p.Exchange.FrontDelay));
        double offsetExcess = Median(pairs
            .Select(p => (sign * p.Offset) - p.Exchange.FrontOffset + clockError(p.Exchange.ResponseSentNs))
            .Where(double.IsFinite));
        return new MeasurementComparison(pairs.Count, logged.Count, delayExcess, offsetExcess, chronySign);
    }

    private static List<(long SecondNs, double Offset, double Delay)> Read(string path)
    {
        var rows = new List<(long, double, double)>();
        if (!File.Exists(path))
        {
            return rows;
        }

        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            if (++lineNumber > MaxLines)
            {
                throw new InvalidDataException($"{path}: more than {MaxLines} lines");
            }

            // Banner and rule lines start with spaces or '='; sample lines with the date.
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 13 || !char.IsAsciiDigit(line[0]))
            {
                continue;
            }

            if (!DateTime.TryParseExact(fields[0] + " " + fields[1], "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime when)
                || !double.TryParse(fields[11], NumberStyles.Float, CultureInfo.InvariantCulture, out double offset)
                || !double.TryParse(fields[12], NumberStyles.Float, CultureInfo.InvariantCulture, out double delay))
            {
                throw new InvalidDataException($"{path}:{lineNumber}: not a measurements line (date, time, ..., offset in field 12, delay in 13): '{line}'");
            }

            rows.Add(((when - DateTime.UnixEpoch).Ticks * 100, offset, delay));
        }

        return rows;
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length == 0 ? double.NaN
            : (sorted.Length & 1) == 1 ? sorted[sorted.Length / 2]
            : 0.5 * (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]);
    }
}
