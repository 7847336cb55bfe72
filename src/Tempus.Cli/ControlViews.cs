using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Tempus.Control;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Cli;

/// <summary>
/// The text of tempusctl's monitoring views, column for column chronyc's (client.c), human-readable or CSV (<c>-c</c>).
/// Signs follow chronyc in the text, so both tools read the same on one machine: source offsets (<c>sources</c>,
/// <c>sourcestats</c>, <c>selectdata</c>) and tracking's last offset are local − reference (positive: the local clock is
/// ahead), frequencies the error of the uncorrected clock; <c>ntpdata</c>'s offset and tracking's System time keep
/// NTP's sense (positive: local behind). <c>--json</c> prints the reports as they are, in Tempus's sign
/// (reference − local).
/// </summary>
internal static class ControlViews
{
    private static readonly CultureInfo s_c = CultureInfo.InvariantCulture;

    // Negation that turns 0 into +0, never -0, so an unset offset prints "+0ns" as chronyc does.
    private static double Flip(double x) => 0.0 - x;

    private static uint Ago(double seconds) =>
        seconds < 0 || double.IsNaN(seconds) ? uint.MaxValue : seconds >= uint.MaxValue - 1.0 ? uint.MaxValue - 1 : (uint)seconds;

    private static DateTimeOffset FromUnixNs(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

    /// <summary>chronyc's format_name: DNS names longer than 25 characters end in '>'; CSV shows the address.</summary>
    internal static string Name(SourceReport source, bool csv, int truncate = 25)
    {
        string name = csv && source.Address.Length > 0 ? source.Address : source.Name;
        return !csv && name.Length > truncate ? string.Concat(name.AsSpan(0, truncate - 1), ">") : name;
    }

    public static string Tracking(TrackingReport t, bool csv)
    {
        var r = new ChronycReport(csv);
        r.Print(
            "Reference ID    : %R (%s)\n" +
            "Stratum         : %u\n" +
            "Ref time (UTC)  : %T\n" +
            "System time     : %.9O of NTP time\n" +
            "Last offset     : %+.9f seconds\n" +
            "RMS offset      : %.9f seconds\n" +
            "Frequency       : %.3F\n" +
            "Residual freq   : %+.3f ppm\n" +
            "Skew            : %.3f ppm\n" +
            "Root delay      : %.9f seconds\n" +
            "Root dispersion : %.9f seconds\n" +
            "Update interval : %.1f seconds\n" +
            "Leap status     : %L\n",
            t.ReferenceId, t.ReferenceName, t.Stratum, FromUnixNs(t.ReferenceTimeUnixNs), t.SystemTimeOffset, Flip(t.LastOffset),
            t.RmsOffset, Flip(t.FrequencyPpm), Flip(t.ResidualFrequencyPpm), t.SkewPpm, t.RootDelay, t.RootDispersion,
            t.UpdateInterval, (int)t.Leap);
        if (t.ClockControl.Length > 0)
        {
            r.Info($"Clock control   : {t.ClockControl}\n");
        }

        return r.ToString();
    }

    public static string Sources(IReadOnlyList<SourceReport> sources, bool verbose, bool csv)
    {
        var r = new ChronycReport(csv);
        if (verbose && !csv)
        {
            r.Info(
                "\n" +
                "  .-- Source mode  '^' = server, '=' = peer, '#' = local clock.\n" +
                " / .- Source state '*' = current best, '+' = combined, '-' = not combined,\n" +
                "| /             'x' = may be in error, '~' = too variable, '?' = unusable.\n" +
                "||                                                 .- xxxx [ yyyy ] +/- zzzz\n" +
                "||      Reachability register (octal) -.           |  xxxx = adjusted offset,\n" +
                "||      Log2(Polling interval) --.      |          |  yyyy = measured offset,\n" +
                "||                                \\     |          |  zzzz = estimated error.\n" +
                "||                                 |    |           \\\n");
        }

        r.Header("MS Name/IP address         Stratum Poll Reach LastRx Last sample               ");
        foreach (SourceReport s in sources)
        {
            r.Print(
                "%c%c %-27s  %2d  %2d   %3o  %I  %+S[%+S] +/- %S\n",
                '^', new SourceSelection(s.Name, s.Status, "").SourcesState, Name(s, csv), s.Stratum, s.Poll, (int)s.Reach,
                Ago(s.LastRxAgo), Flip(s.AdjustedOffset), Flip(s.MeasuredOffset), s.ErrorBound);
        }

        return r.ToString();
    }

    public static string SourceStats(IReadOnlyList<SourceReport> sources, bool verbose, bool csv)
    {
        var r = new ChronycReport(csv);
        if (verbose && !csv)
        {
            r.Info(
                "                             .- Number of sample points in measurement set.\n" +
                "                            /    .- Number of residual runs with same sign.\n" +
                "                           |    /    .- Length of measurement set (time).\n" +
                "                           |   |    /      .- Est. clock freq error (ppm).\n" +
                "                           |   |   |      /           .- Est. error in freq.\n" +
                "                           |   |   |     |           /         .- Est. offset.\n" +
                "                           |   |   |     |          |          |   On the -.\n" +
                "                           |   |   |     |          |          |   samples. \\\n" +
                "                           |   |   |     |          |          |             |\n");
        }

        r.Header("Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev");
        foreach (SourceReport s in sources)
        {
            r.Print(
                "%-25s %3U %3U  %I %+P %P  %+S  %S\n",
                Name(s, csv), s.SampleCount, s.Runs, Ago(s.SpanSeconds), Flip(s.FrequencyPpm), s.SkewPpm,
                Flip(s.EstimatedOffset), s.StandardDeviation);
        }

        return r.ToString();
    }

    /// <summary>
    /// chronyc's selectdata, with Tempus's state letters (A: excluded by authselectmode; -: not combined under
    /// authselectmode mix; ?: unreachable) and, where chronyc shows its reselection Score, the root distance; with
    /// <c>-v</c> every source's reason follows the table.
    /// </summary>
    public static string SelectData(IReadOnlyList<SourceReport> sources, bool verbose, bool csv)
    {
        var r = new ChronycReport(csv);
        if (verbose && !csv)
        {
            r.Info(
                "  . State: N - noselect, s - unsynchronised, d - large distance, x - falseticker,\n" +
                " /         T - not trusted, W - waits for others, D - too far to combine,\n" +
                "|          A - unauthenticated (authselectmode), - - not combined (mix),\n" +
                "|          ? - unreachable, + - combined, * - best.     Dist: root distance.\n" +
                "|   Effective options   ---------.  (N - noselect, P - prefer\n" +
                "|   Configured options  ----.     \\  T - trust, R - require)\n" +
                "|   Auth. enabled (Y/N) -.   \\     \\     Offset interval --.\n" +
                "|                        |    |     |                       |\n");
        }

        r.Header("S Name/IP Address        Auth COpts EOpts Last   Dist     Interval  Leap");
        foreach (SourceReport s in sources)
        {
            SourceSelectOptions c = s.SelectOptions;
            SourceSelectOptions e = s.EffectiveSelectOptions ?? s.SelectOptions;
            r.Print(
                "%c %-25s %c %c%c%c%c%c %c%c%c%c%c %I %S %+S %+S  %1L\n",
                new SourceSelection(s.Name, s.Status, "").SelectDataState, Name(s, csv),
                s.Authentication != SourceAuthentication.None ? 'Y' : 'N',
                Flag(c, SourceSelectOptions.NoSelect, 'N'), Flag(c, SourceSelectOptions.Prefer, 'P'), Flag(c, SourceSelectOptions.Trust, 'T'), Flag(c, SourceSelectOptions.Require, 'R'), '-',
                Flag(e, SourceSelectOptions.NoSelect, 'N'), Flag(e, SourceSelectOptions.Prefer, 'P'), Flag(e, SourceSelectOptions.Trust, 'T'), Flag(e, SourceSelectOptions.Require, 'R'), '-',
                Ago(s.LastRxAgo), s.RootDistance, Flip(s.IntervalHigh), Flip(s.IntervalLow), (int)s.Leap);
        }

        if (verbose && !csv && sources.Count > 0)
        {
            r.Info("\nState reasons:\n");
            foreach (SourceReport s in sources)
            {
                r.Info($"{new SourceSelection(s.Name, s.Status, "").SelectDataState} {Name(s, csv),-25} {(s.StatusReason.Length > 0 ? s.StatusReason : "-")}\n");
            }
        }

        return r.ToString();
    }

    private static char Flag(SourceSelectOptions options, SourceSelectOptions flag, char letter) =>
        (options & flag) != 0 ? letter : '-';

    public static string AuthData(IReadOnlyList<SourceReport> sources, bool verbose, bool csv)
    {
        var r = new ChronycReport(csv);
        if (verbose && !csv)
        {
            r.Info(
                "                             .- Auth. mechanism (NTS, SK - symmetric key)\n" +
                "                            |   Key length -.  Cookie length (bytes) -.\n" +
                "                            |       (bits)  |  Num. of cookies --.    |\n" +
                "                            |               |  Key est. attempts  |   |\n" +
                "                            |               |           |         |   |\n");
        }

        r.Header("Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen");
        foreach (SourceReport s in sources)
        {
            string mode = s.Authentication switch
            {
                SourceAuthentication.SymmetricKey => "SK",
                SourceAuthentication.Nts => "NTS",
                _ => "-",
            };
            r.Print(
                "%-27s %4s %5U %4d %4d %I %4d %4d %4d %4d\n",
                Name(s, csv), mode, s.KeyId ?? 0, KeyTypeCode(s.KeyType), s.KeyBits, Ago(s.NtsKeAgo), s.NtsKeAttempts, s.NtsNaks,
                s.NtsCookies, s.NtsCookieLength);
        }

        if (verbose && !csv)
        {
            r.Info("\nType: 1 MD5, 2 SHA1, 3 SHA256, 4 SHA384, 5 SHA512, 13 AES128, 14 AES256 (SK); 15, 16, 17 AES-SIV-CMAC-256/384/512, 30 AES-128-GCM-SIV (NTS AEAD).\n");
            foreach (SourceReport s in sources.Where(s => s.AuthenticationFailures > 0 || s.LastAuthenticationError.Length > 0))
            {
                r.Info($"{Name(s, csv),-27} {s.AuthenticationFailures.ToString(s_c)} failed authentication(s){(s.LastAuthenticationError.Length > 0 ? "; last error: " + s.LastAuthenticationError : "")}\n");
            }
        }

        return r.ToString();
    }

    /// <summary>chronyc's authdata Type: the hash (hash.h) or CMAC (cmac.h) id of a key, or the NTS AEAD id.</summary>
    internal static int KeyTypeCode(string type) => type.ToUpperInvariant() switch
    {
        "" => 0,
        "MD5" => 1,
        "SHA1" => 2,
        "SHA256" => 3,
        "SHA384" => 4,
        "SHA512" => 5,
        "SHA3-224" => 6,
        "SHA3-256" => 7,
        "SHA3-384" => 8,
        "SHA3-512" => 9,
        "AES128" => 13,
        "AES256" => 14,
        "AES-SIV-CMAC-256" or "AEAD_AES_SIV_CMAC_256" or "AESSIVCMAC256" => 15,
        "AES-SIV-CMAC-384" or "AEAD_AES_SIV_CMAC_384" or "AESSIVCMAC384" => 16,
        "AES-SIV-CMAC-512" or "AEAD_AES_SIV_CMAC_512" or "AESSIVCMAC512" => 17,
        "AES-128-GCM-SIV" or "AEAD_AES_128_GCM_SIV" or "AES128GCMSIV" => 30,
        _ => 0,
    };

    /// <summary>chronyc's ntpdata for the given sources (all of them: a blank line before each, as chronyc prints).</summary>
    public static string NtpData(IReadOnlyList<SourceReport> sources, bool blankLineBefore, bool csv)
    {
        var r = new ChronycReport(csv);
        foreach (SourceReport s in sources)
        {
            if (blankLineBefore)
            {
                r.Info("\n");
            }

            string[] tests = s.NtpTests.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            r.Print(
                "Remote address  : %s (%R)\n" +
                "Remote port     : %u\n" +
                "Local address   : %s (%R)\n" +
                "Leap status     : %L\n" +
                "Version         : %u\n" +
                "Mode            : %M\n" +
                "Stratum         : %u\n" +
                "Poll interval   : %d (%.0f seconds)\n" +
                "Precision       : %d (%.9f seconds)\n" +
                "Root delay      : %.6f seconds\n" +
                "Root dispersion : %.6f seconds\n" +
                "Reference ID    : %R (%s)\n" +
                "Reference time  : %T\n" +
                "Offset          : %+.9f seconds\n" +
                "Peer delay      : %.9f seconds\n" +
                "Peer dispersion : %.9f seconds\n" +
                "Response time   : %.9f seconds\n" +
                "NTP tests       : %s %s %s\n" +
                "Interleaved     : %B\n" +
                "Authenticated   : %B\n" +
                "TX timestamping : %N\n" +
                "RX timestamping : %N\n" +
                "Total TX        : %U\n" +
                "Total RX        : %U\n" +
                "Total valid RX  : %U\n",
                AddressText(s.Address), AddressRefId(s.Address), s.Port, AddressText(s.LocalAddress), AddressRefId(s.LocalAddress),
                (int)s.Leap, s.Version, s.Mode, s.Stratum, s.Poll, Math.Pow(2, s.Poll), s.Precision, Math.Pow(2, s.Precision),
                s.SourceRootDelay, s.SourceRootDispersion, s.SourceReferenceId, s.Stratum <= 1 ? RefIdText(s.SourceReferenceId) : "",
                FromUnixNs(s.SourceReferenceTimeUnixNs), s.MeasuredOffset, s.PeerDelay, s.PeerDispersion, s.ResponseTime,
                tests.ElementAtOrDefault(0) ?? "000", tests.ElementAtOrDefault(1) ?? "000", tests.ElementAtOrDefault(2) ?? "0000",
                false, s.LastResponseAuthenticated, s.KernelTxTimestamp ? 'K' : 'D', s.KernelRxTimestamp ? 'K' : 'D', s.TotalTx, s.TotalRx, s.TotalValidRx);
        }

        return r.ToString();
    }

    private static string AddressText(string address) => address.Length > 0 ? address : "[UNSPEC]";

    /// <summary>chronyc's UTI_IPToRefid: an IPv4 address as is, an IPv6 address as the first 4 bytes of its MD5.</summary>
    internal static uint AddressRefId(string address)
    {
        if (!IPAddress.TryParse(address, out IPAddress? ip))
        {
            return 0;
        }

        byte[] bytes = ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4().GetAddressBytes() : ip.GetAddressBytes();
        if (ip.AddressFamily == AddressFamily.InterNetworkV6 && !ip.IsIPv4MappedToIPv6)
        {
            // chrony hashes the 16 address bytes with MD5 for the IPv6 reference id (RFC 5905 §7.3).
#pragma warning disable CA5351 // MD5 is what the reference id is defined with, not a security use.
            bytes = MD5.HashData(bytes);
#pragma warning restore CA5351
        }

        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    /// <summary>chronyc's UTI_RefidToString: the printable characters of the four bytes.</summary>
    internal static string RefIdText(uint refId)
    {
        var s = new StringBuilder(4);
        for (int i = 0; i < 4; i++)
        {
            char c = (char)((refId >> (24 - (i * 8))) & 0xFF);
            if (c is >= ' ' and <= '~')
            {
                s.Append(c);
            }
        }

        return s.ToString();
    }

    public static string Activity(ActivityReport a, bool csv)
    {
        var r = new ChronycReport(csv);
        r.Info("200 OK\n");
        r.Print(
            "%U sources online\n" +
            "%U sources offline\n" +
            "%U sources doing burst (return to online)\n" +
            "%U sources doing burst (return to offline)\n" +
            "%U sources with unknown address\n",
            a.Online, a.Offline, a.BurstOnline, a.BurstOffline, a.UnresolvedAddress);
        return r.ToString();
    }

    /// <summary>chronyc's serverstats fields that Tempus counts, then Tempus's own three.</summary>
    public static string ServerStats(ServerStatsReport s, bool csv)
    {
        var r = new ChronycReport(csv);
        r.Print(
            "NTP packets received       : %Q\n" +
            "NTP packets dropped        : %Q\n" +
            "Command packets received   : %Q\n" +
            "Command packets dropped    : %Q\n" +
            "Client log records dropped : %Q\n" +
            "NTS-KE connections accepted: %Q\n" +
            "NTS-KE connections dropped : %Q\n" +
            "Authenticated NTP packets  : %Q\n" +
            "Interleaved NTP packets    : %Q\n" +
            "NTP responses sent         : %Q\n" +
            "Rate-limit KoDs sent       : %Q\n" +
            "NTS NAKs sent              : %Q\n",
            s.NtpPacketsReceived, s.NtpPacketsDropped, s.CommandPacketsReceived, s.CommandPacketsDropped, s.ClientLogRecordsDropped,
            s.NtsKeConnectionsAccepted, s.NtsKeConnectionsDropped, s.AuthenticatedNtpPackets, s.InterleavedNtpPackets,
            s.NtpResponsesSent, s.RateLimitKods, s.NtsNaks);
        return r.ToString();
    }

    /// <summary>
    /// chronyc's clients. IntL (the timeout interval) is not kept by Tempus and shows "-"; without -k the command
    /// columns are empty: the control socket is local, so no network client sends commands.
    /// </summary>
    public static string Clients(IReadOnlyList<ClientReport> clients, bool ntsKe, bool csv)
    {
        var r = new ChronycReport(csv);
        r.Header($"Hostname                      NTP   Drop Int IntL Last  {(ntsKe ? "NTS-KE" : "Cmd").PadLeft(6)}   Drop Int  Last");
        foreach (ClientReport c in clients)
        {
            string name = !csv && c.Address.Length > 25 ? string.Concat(c.Address.AsSpan(0, 24), ">") : c.Address;
            r.Print(
                "%-25s  %6U  %5U  %C  %C  %I  %6U  %5U  %C  %I\n",
                name, c.NtpRequests, c.NtpDropped, c.NtpRequests > 0 ? c.NtpInterval : 127, 127, Ago(c.NtpLastAgo),
                ntsKe ? c.NtsKeRequests : 0, ntsKe ? c.NtsKeDropped : 0, ntsKe && c.NtsKeRequests > 0 ? c.NtsKeInterval : 127,
                ntsKe ? Ago(c.NtsKeLastAgo) : uint.MaxValue);
        }

        return r.ToString();
    }

    public static string WaitSyncTry(int attempt, TrackingReport t, bool csv)
    {
        var r = new ChronycReport(csv);
        r.Print("try: %d, refid: %R, correction: %.9f, skew: %.3f\n", attempt, t.ReferenceId, Math.Abs(t.SystemTimeOffset), t.SkewPpm);
        return r.ToString();
    }

    public static string Json<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Serialize(value, type) + "\n";
}
