using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Tempus.AccuracyBench;

/// <summary>
/// One NTP exchange as the relay saw it, all on this machine's CLOCK_REALTIME (nanoseconds): the request reached the
/// relay's front (kernel stamp) at <paramref name="RequestArrivedNs"/> and left for the server at
/// <paramref name="RequestSentNs"/>; the server stamped it <paramref name="T2Ns"/> and its response
/// <paramref name="T3Ns"/>; the response reached the relay at <paramref name="ResponseArrivedNs"/> and left for the
/// client at <paramref name="ResponseSentNs"/>.
/// </summary>
internal readonly record struct Exchange(int Front, long RequestArrivedNs, long RequestSentNs, long T2Ns, long T3Ns, long ResponseArrivedNs, long ResponseSentNs)
{
    /// <summary>
    /// The offset (server − client, seconds) a client with perfect timestamps at the relay's front would measure:
    /// the true offset is 0, so this is the bias of the path itself (emulated asymmetry, the relay's own latencies,
    /// the server's T2 and T3 capture).
    /// </summary>
    public double FrontOffset => ((T2Ns - RequestArrivedNs) + (T3Ns - ResponseSentNs)) / 2e9;

    /// <summary>The round-trip delay such a client would measure, seconds.</summary>
    public double FrontDelay => ((ResponseSentNs - RequestArrivedNs) - (T3Ns - T2Ns)) / 1e9;

    /// <summary>Half the difference between the relay's hold of the request and of the response, seconds.</summary>
    public double RelayAsymmetry => ((RequestSentNs - RequestArrivedNs) - (ResponseSentNs - ResponseArrivedNs)) / 2e9;

    /// <summary>
    /// Half the difference between relay-to-server (send to T2) and server-to-relay (T3 to arrival) latency, seconds: the
    /// server's share of the path bias (a T3 read long before the send makes it negative).
    /// </summary>
    public double ServerAsymmetry => ((T2Ns - RequestSentNs) - (ResponseArrivedNs - T3Ns)) / 2e9;
}

/// <summary>
/// Pairs the requests and responses the relay forwards (a response's origin timestamp is its request's transmit
/// timestamp) into <see cref="Exchange"/>s. Bounded: at most <see cref="MaxOutstanding"/> unanswered requests and
/// <see cref="MaxExchanges"/> exchanges are kept. Used by the relay's thread only, read after it stops.
/// </summary>
internal sealed class ExchangeLog
{
    public const int MaxOutstanding = 1024;
    public const int MaxExchanges = 100_000;
    private const long UnixEpochInNtpSeconds = 2_208_988_800;

    private readonly Dictionary<(int Front, ulong Transmit), (long Arrived, long Sent)> _outstanding = [];
    private readonly List<Exchange> _exchanges = [];

    public IReadOnlyList<Exchange> Exchanges => _exchanges;

    /// <summary>Notes one forwarded datagram; anything that is not a 48-byte-or-longer NTP client or server packet is ignored.</summary>
    public void Record(int front, bool request, ReadOnlySpan<byte> datagram, long arrivedNs, long sentNs)
    {
        if (datagram.Length < 48)
        {
            return;
        }

        int mode = datagram[0] & 7;
        if (request && mode == 3)
        {
            if (_outstanding.Count >= MaxOutstanding)
            {
                _outstanding.Clear(); // Only lost responses leave entries behind: start afresh rather than grow.
            }

            _outstanding[(front, BinaryPrimitives.ReadUInt64BigEndian(datagram[40..]))] = (arrivedNs, sentNs);
        }
        else if (!request && mode == 4 && _exchanges.Count < MaxExchanges
            && _outstanding.Remove((front, BinaryPrimitives.ReadUInt64BigEndian(datagram[24..])), out var sent))
        {
            _exchanges.Add(new Exchange(front, sent.Arrived, sent.Sent, ToUnixNs(datagram[32..]), ToUnixNs(datagram[40..]), arrivedNs, sentNs));
        }
    }

    /// <summary>Writes every exchange as CSV (nanoseconds, CLOCK_REALTIME) for offline comparison with the clients' logs.</summary>
    public void WriteCsv(string path)
    {
        var text = new StringBuilder("front,request_arrived_ns,request_sent_ns,t2_ns,t3_ns,response_arrived_ns,response_sent_ns,front_offset_s,front_delay_s\n");
        foreach (Exchange e in _exchanges)
        {
            text.Append(CultureInfo.InvariantCulture, $"{e.Front},{e.RequestArrivedNs},{e.RequestSentNs},{e.T2Ns},{e.T3Ns},{e.ResponseArrivedNs},{e.ResponseSentNs},{e.FrontOffset:E6},{e.FrontDelay:E6}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    private static long ToUnixNs(ReadOnlySpan<byte> ntp)
    {
        long seconds = BinaryPrimitives.ReadUInt32BigEndian(ntp);
        long fraction = BinaryPrimitives.ReadUInt32BigEndian(ntp[4..]);
        return ((seconds - UnixEpochInNtpSeconds) * 1_000_000_000) + ((fraction * 1_000_000_000) >> 32);
    }
}

/// <summary>What the relay saw of one client's exchanges, averaged over those after <c>fromNs</c>.</summary>
internal sealed record PathReport(int Count, double MeanOffset, double BestQuarterOffset, double MeanDelay, double RelayAsymmetry, double ServerAsymmetry)
{
    public static PathReport Of(IEnumerable<Exchange> exchanges)
    {
        List<Exchange> list = [.. exchanges];
        if (list.Count == 0)
        {
            return new PathReport(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        // Clients prefer their shortest-delay samples (clock filter): the bias among those is what they inherit.
        List<Exchange> best = [.. list.OrderBy(e => e.FrontDelay).Take(Math.Max(1, list.Count / 4))];
        return new PathReport(
            list.Count,
            list.Average(e => e.FrontOffset),
            best.Average(e => e.FrontOffset),
            list.Average(e => e.FrontDelay),
            list.Average(e => e.RelayAsymmetry),
            list.Average(e => e.ServerAsymmetry));
    }
}
