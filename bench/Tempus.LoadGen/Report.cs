using System.Globalization;
using System.Text;

namespace Tempus.LoadGen;

/// <summary>The final table: each figure for tempus and chrony and their ratio, then the one-line summary.</summary>
internal static class Report
{
    public static string KindName(LoadKind kind) => kind switch
    {
        LoadKind.Plain => "plain",
        LoadKind.Symmetric => "symmetric",
        _ => "nts",
    };

    /// <summary>Prints the table; with <paramref name="floor"/> (--floor), its rows and what tempusd has above it.</summary>
    public static void Print(ServerResult? tempus, ServerResult? chrony, FloorResult? floor = null)
    {
        Console.WriteLine();
        Console.WriteLine($"{"figure",-42} {"tempus",14} {"chrony",14} {"tempus/chrony",14}  better");
        foreach (LoadKind kind in (LoadKind[])[LoadKind.Plain, LoadKind.Symmetric, LoadKind.Nts])
        {
            Row($"{KindName(kind)} max rate, <1% loss (req/s)", tempus, chrony, r => r.Kinds.TryGetValue(kind, out KindResult? k) ? k.MaxRate : double.NaN, "F0", "higher");
        }

        Row("nts-ke handshakes/s", tempus, chrony, r => r.NtsKe.Rate, "F0", "higher");
        foreach (LoadKind kind in (LoadKind[])[LoadKind.Plain, LoadKind.Symmetric, LoadKind.Nts])
        {
            Row($"server cpu per {KindName(kind)} request (µs)", tempus, chrony, r => r.Kinds.TryGetValue(kind, out KindResult? k) ? k.CpuPerRequest * 1e6 : double.NaN, "F2", "lower");
        }

        Row("server cpu per nts-ke handshake (µs)", tempus, chrony, r => r.NtsKe.Seconds == 0 ? double.NaN : r.NtsKe.Handshakes == 0 ? 0 : r.NtsKe.ServerCpuSeconds / r.NtsKe.Handshakes * 1e6, "F0", "lower");
        Row("server ctx switches per nts-ke handshake", tempus, chrony, r => r.NtsKe.Seconds == 0 ? double.NaN : r.NtsKe.Handshakes == 0 ? 0 : (double)r.NtsKe.ServerContextSwitches / r.NtsKe.Handshakes, "F2", "lower");
        Row("server threads after the nts-ke load", tempus, chrony, r => r.NtsKe.Seconds == 0 ? double.NaN : r.NtsKe.ServerThreads, "F0", "info");
        Row("rss at start (MiB, VmRSS)", tempus, chrony, r => r.AtStart.RssKiB / 1024.0, "F1", "lower");
        Row("rss after the udp load (MiB, VmRSS)", tempus, chrony, r => r.AfterUdpLoad.RssKiB / 1024.0, "F1", "lower");
        Row("peak rss (MiB, VmHWM)", tempus, chrony, r => r.AtEnd.HwmKiB / 1024.0, "F1", "lower");
        // VmRSS counts every shared library page in full in each process (chronyd's NTS-KE helper repeats its
        // parent's libc and GnuTLS); Pss shares them out, private is what only the daemon maps, anon its own data.
        Row("pss at start (MiB, shared pages split)", tempus, chrony, r => r.AtStart.PssKiB / 1024.0, "F1", "lower");
        Row("pss after the udp load (MiB)", tempus, chrony, r => r.AfterUdpLoad.PssKiB / 1024.0, "F1", "lower");
        Row("pss at end (MiB)", tempus, chrony, r => r.AtEnd.PssKiB / 1024.0, "F1", "lower");
        Row("private at start (MiB, own pages only)", tempus, chrony, r => r.AtStart.PrivateKiB / 1024.0, "F1", "lower");
        Row("private at end (MiB)", tempus, chrony, r => r.AtEnd.PrivateKiB / 1024.0, "F1", "lower");
        Row("anonymous at start (MiB, heap/stack/data)", tempus, chrony, r => r.AtStart.AnonKiB / 1024.0, "F1", "lower");
        Row("anonymous at end (MiB)", tempus, chrony, r => r.AtEnd.AnonKiB / 1024.0, "F1", "lower");
        if (floor is not null)
        {
            // Not a server: its figure stands in the tempus column, as the part of tempusd's it accounts for.
            FloorRow("floor rss: NativeAOT+OpenSSL ctx+UDP (MiB)", floor.AtReady.RssKiB);
            FloorRow("floor pss: NativeAOT+OpenSSL ctx+UDP (MiB)", floor.AtReady.PssKiB);
            FloorRow("floor anonymous (MiB, heap/stack/data)", floor.AtReady.AnonKiB);
        }

        foreach (LoadKind kind in (LoadKind[])[LoadKind.Plain, LoadKind.Symmetric, LoadKind.Nts])
        {
            Row($"server cores busy at {KindName(kind)} max rate", tempus, chrony, r => r.Kinds.TryGetValue(kind, out KindResult? k) ? k.ServerCoresAtMax : double.NaN, "F2", "info");
        }

        foreach (LoadKind kind in (LoadKind[])[LoadKind.Plain, LoadKind.Symmetric, LoadKind.Nts])
        {
            Row($"generator ceiling, {KindName(kind)} (req/s)", tempus, chrony, r => r.Kinds.TryGetValue(kind, out KindResult? k) ? k.GeneratorCeiling : double.NaN, "F0", "info");
        }

        Row("generator cpu per nts-ke handshake (µs)", tempus, chrony, r => r.NtsKe.Seconds == 0 ? double.NaN : r.NtsKe.Handshakes == 0 ? 0 : r.NtsKe.GeneratorCpuSeconds / r.NtsKe.Handshakes * 1e6, "F0", "info");
        Row("other processes' cpu during udp load (cores)", tempus, chrony, r =>
        {
            double wall = r.Kinds.Values.Sum(k => k.WallSeconds);
            return wall == 0 ? 0 : r.Kinds.Values.Sum(k => k.OtherCpuSeconds) / wall;
        }, "F2", "info");

        Console.WriteLine();
        if (floor is not null)
        {
            Console.WriteLine(FloorSentence(floor, tempus, chrony));
        }

        foreach (ServerResult? server in (ServerResult?[])[tempus, chrony])
        {
            if (server is null)
            {
                continue;
            }

            double wall = server.Kinds.Values.Sum(k => k.WallSeconds);
            double others = wall == 0 ? 0 : server.Kinds.Values.Sum(k => k.OtherCpuSeconds) / wall;
            if (others > 0.25)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"warning: other processes kept {others:F2} of the {Environment.ProcessorCount} CPUs busy while {server.Name} was measured: its figures are lower and noisier than on an idle machine"));
            }

            foreach (KindResult kind in server.Kinds.Values)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{server.Name} {KindName(kind.Kind)}: max {kind.MaxRate:F0}/s{(kind.GeneratorBound ? " (a lower bound: the generator could not go faster)" : "")}; above it limited by {kind.LimitedBy}"));
            }

            if (server.NtsKe.Handshakes > 0)
            {
                Console.WriteLine($"{server.Name} nts-ke: {server.NtsKe.Rate.ToString("F0", CultureInfo.InvariantCulture)}/s, {NtsKeLimit(server.NtsKe)}");
            }
        }
    }

    // The generator runs a full TLS 1.3 client per handshake (with OpenSSL 3.0, certificate decoding and two ECDSA
    // verifications cost it more CPU than the server's side), on the same CPUs as the server: when the two keep every
    // CPU busy, the rate is what they manage together, and only the server's CPU per handshake compares servers.
    private static string NtsKeLimit(NtsKeResult result)
    {
        double server = result.ServerCpuSeconds / result.Handshakes * 1e6;
        double generator = result.GeneratorCpuSeconds / result.Handshakes * 1e6;
        double others = result.OtherCpuSeconds / result.Seconds;
        double busy = (result.ServerCpuSeconds + result.GeneratorCpuSeconds) / result.Seconds + others;
        int cpus = Environment.ProcessorCount;
        string split = string.Create(CultureInfo.InvariantCulture,
            $"server {server:F0} µs and generator {generator:F0} µs of CPU per handshake, {busy:F2} of {cpus} CPUs busy{(others > 0.25 ? $", {others:F2} of them by other processes" : "")}");
        if (busy < 0.85 * cpus)
        {
            return $"not CPU-bound ({split}): the exchanges in flight (--ke-concurrency) set the rate";
        }

        return server >= generator
            ? $"bound by the CPUs, mostly the server's side ({split}): the rate measures the server"
            : $"bound by the CPUs, mostly the generator's side ({split}): the rate measures both; compare servers by their cpu per handshake";
    }

    /// <summary>The summary line: max-rate ratios and the handshake-rate ratio, tempus over chrony.</summary>
    public static string RatioLine(ServerResult tempus, ServerResult chrony) =>
        string.Create(CultureInfo.InvariantCulture,
            $"ratios tempus/chrony: plain={Ratio(MaxRate(tempus, LoadKind.Plain), MaxRate(chrony, LoadKind.Plain))} " +
            $"symmetric={Ratio(MaxRate(tempus, LoadKind.Symmetric), MaxRate(chrony, LoadKind.Symmetric))} " +
            $"nts={Ratio(MaxRate(tempus, LoadKind.Nts), MaxRate(chrony, LoadKind.Nts))} " +
            $"ntske={Ratio(tempus.NtsKe.Rate, chrony.NtsKe.Rate)}");

    // A phase left out with --phases has no figure: NaN, printed as "-" and as a ratio of "n/a".
    private static double MaxRate(ServerResult server, LoadKind kind) =>
        server.Kinds.TryGetValue(kind, out KindResult? result) ? result.MaxRate : double.NaN;

    private static string Ratio(double tempus, double chrony) =>
        chrony > 0 && !double.IsNaN(tempus) ? (tempus / chrony).ToString("F2", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>
    /// What the floor tells: tempusd's start RSS less the floor's is Tempus's own memory, next to chronyd's whole start
    /// RSS; the same in Pss, which counts shared library pages once (chronyd's NTS-KE helper repeats its parent's).
    /// </summary>
    public static string FloorSentence(FloorResult floor, ServerResult? tempus, ServerResult? chrony)
    {
        var text = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"floor (bench/Tempus.RssFloor, NativeAOT: the .NET runtime, Tempus's OpenSSL TLS 1.3 server context with the bench certificate and one UDP socket; no NTP or NTS-KE server): {Mib(floor.AtReady.RssKiB)} MiB RSS at ready"));
        if (tempus is not null)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"; tempusd's {Mib(tempus.AtStart.RssKiB)} MiB at start less the floor leaves {Mib(tempus.AtStart.RssKiB - floor.AtReady.RssKiB)} MiB that is Tempus itself");
        }

        if (chrony is not null)
        {
            text.Append(CultureInfo.InvariantCulture,
                $", against chronyd's {Mib(chrony.AtStart.RssKiB)} MiB at start in all ({chrony.AtStart.Processes} process{(chrony.AtStart.Processes == 1 ? "" : "es")})");
        }

        if (tempus is not null || chrony is not null)
        {
            text.Append("; in Pss (shared pages split), ");
            if (tempus is not null)
            {
                text.Append(CultureInfo.InvariantCulture,
                    $"tempusd {Mib(tempus.AtStart.PssKiB)} - floor {Mib(floor.AtReady.PssKiB)} = {Mib(tempus.AtStart.PssKiB - floor.AtReady.PssKiB)} MiB{(chrony is null ? "" : " against ")}");
            }

            if (chrony is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $"{(tempus is null ? $"floor {Mib(floor.AtReady.PssKiB)} MiB against " : "")}chronyd's {Mib(chrony.AtStart.PssKiB)} MiB");
            }
        }

        return text.Append('.').ToString();
    }

    private static string Mib(long kib) => (kib / 1024.0).ToString("F1", CultureInfo.InvariantCulture);

    private static void FloorRow(string figure, long kib) =>
        Console.WriteLine($"{figure,-42} {Mib(kib),14} {"-",14} {"-",14}  info");

    private static void Row(string figure, ServerResult? tempus, ServerResult? chrony, Func<ServerResult, double> value, string format, string better)
    {
        string t = Format(tempus, value, format);
        string c = Format(chrony, value, format);
        string ratio = tempus is null || chrony is null ? "-" : Ratio(value(tempus), value(chrony));
        Console.WriteLine($"{figure,-42} {t,14} {c,14} {ratio,14}  {better}");
    }

    private static string Format(ServerResult? server, Func<ServerResult, double> value, string format) =>
        server is null || double.IsNaN(value(server)) ? "-" : value(server).ToString(format, CultureInfo.InvariantCulture);
}
