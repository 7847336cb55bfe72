using System.Globalization;
using System.Runtime.CompilerServices;
using Tempus.Auth;
using Tempus.Crypto;
using Tempus.Protocol;

namespace Tempus.AotBench;

/// <summary>
/// The server's per-request CPU cost as tempusd ships it: NativeAOT-compiled. BenchmarkDotNet (bench/Tempus.Benchmarks)
/// runs the JIT, which inlines what NativeAOT may leave as calls (the AES-NI round-key getters were one), so a slow
/// path in the shipped binary can be invisible there; this program is published NativeAOT by scripts/bench-aot.sh.
/// </summary>
/// <remarks>
/// Per request kind: the request is built as a real client builds it, answered once and checked as the client would
/// (exit 1 if wrong), warmed up, then timed in <c>--rounds</c> rounds of <c>--iterations</c> calls with this thread's
/// CPU time (clock_gettime CLOCK_THREAD_CPUTIME_ID); the best round is the figure, the median shows the spread.
/// Allocations are counted with <see cref="GC.GetAllocatedBytesForCurrentThread"/> around each round: a kind that
/// allocated in every round allocates per call, which the server's budget (0 B per request) forbids, and exits 1.
/// No socket and no clock reading for the protocol: the engine runs on a fixed clock, as the tests do.
/// </remarks>
internal static class Program
{
    private const string Usage = """
        Usage: tempus-aotbench [--rounds N] [--iterations M] [--quick]
        Times NtpServerEngine.Process per request kind (plain, AES128-CMAC, SHA1, NTS AEAD 15 with 0 and 7
        placeholders) and AEAD 15 seal/open alone, in this process, with no network and a fixed clock.
          --rounds N       timed rounds per kind, the best reported (default 11, --quick 3; 1 to 1001)
          --iterations M   calls per round (default 400000, --quick 20000; 1 to 100000000)
          --quick          fewer, shorter rounds: a check that it runs, not a measurement
        Exit 0: all responses right and nothing allocated per call; 1: a response wrong or a kind allocating; 2: bad
        arguments. Run NativeAOT through scripts/bench-aot.sh: that is how tempusd runs.
        """;

    // Any fixed instant: the tests' start time.
    private static readonly DateTime s_now = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);

    private static int Main(string[] args)
    {
        AotBenchOptions options;
        try
        {
            options = AotBenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"tempus-aotbench: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (options.ShowHelp)
        {
            Console.WriteLine(Usage);
            return 0;
        }

        string runtime = RuntimeFeature.IsDynamicCodeSupported ? "JIT (not NativeAOT: not the code tempusd runs)" : "NativeAOT";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tempus-aotbench: {runtime}, {CryptoImplementation.Describe()}, best of {options.Rounds} rounds of {options.Iterations} calls, thread CPU time"));

        var clock = new FixedClock(s_now);
        var cases = new List<BenchCase>();
        try
        {
            cases.Add(new NtpRequestCase("plain", "mode 3, no authentication", clock, null));
            cases.Add(new NtpRequestCase("aes128", "mode 3, MAC AES128-CMAC (RFC 8573)", clock, new SymmetricKey(21, MacAlgorithm.Aes128Cmac, Convert.FromHexString("000102030405060708090A0B0C0D0E0F"), "aotbench")));
            cases.Add(new NtpRequestCase("sha1", "mode 3, MAC SHA1 (key || packet digest)", clock, new SymmetricKey(11, MacAlgorithm.Sha1, Convert.FromHexString("00112233445566778899AABBCCDDEEFF00112233"), "aotbench")));
            // ntp-keygen -M writes MD5 keys of 20 printable characters; most ntp.keys in the field still hold them.
            cases.Add(new NtpRequestCase("md5", "mode 3, MAC MD5 (key || packet digest)", clock, new SymmetricKey(12, MacAlgorithm.Md5, "aotbenchmd5key012345"u8.ToArray(), "aotbench")));
            cases.Add(new NtsRequestCase("nts", clock, NtsAeadAlgorithm.AesSivCmac256, placeholders: 0));
            cases.Add(new NtsRequestCase("nts7", clock, NtsAeadAlgorithm.AesSivCmac256, placeholders: 7));
            cases.Add(new AeadCase("siv-seal", NtsAeadAlgorithm.AesSivCmac256, open: false));
            cases.Add(new AeadCase("siv-open", NtsAeadAlgorithm.AesSivCmac256, open: true));
            return Measure(cases, options);
        }
        finally
        {
            foreach (BenchCase c in cases)
            {
                c.Dispose();
            }
        }
    }

    private static int Measure(List<BenchCase> cases, AotBenchOptions options)
    {
        // Every kind is checked before any is timed, so a wrong answer ends the run at once.
        foreach (BenchCase c in cases)
        {
            if (c.Verify() is string wrong)
            {
                Console.Error.WriteLine($"tempus-aotbench: {c.Name} ({c.Description}): {wrong}");
                return 1;
            }
        }

        // The first reading of each meter resolves clock_gettime and may allocate: not inside the first round.
        _ = ThreadCpuClock.Nanoseconds;
        _ = GC.GetAllocatedBytesForCurrentThread();
        var results = new List<Result>();
        var failures = new List<string>();
        foreach (BenchCase c in cases)
        {
            // Warm-up: per-thread state (the engine's AEAD contexts), caches and the branch predictor.
            c.Run(Math.Min(options.Iterations, 10_000));
            double[] ns = new double[options.Rounds];
            long[] allocated = new long[options.Rounds];
            for (int round = 0; round < options.Rounds; round++)
            {
                long bytes0 = GC.GetAllocatedBytesForCurrentThread();
                long cpu0 = ThreadCpuClock.Nanoseconds;
                c.Run(options.Iterations);
                long cpu1 = ThreadCpuClock.Nanoseconds;
                allocated[round] = GC.GetAllocatedBytesForCurrentThread() - bytes0;
                ns[round] = (double)(cpu1 - cpu0) / options.Iterations;
            }

            // As tests/Shared/AllocationAssert: a call that allocates shows in every round; the runtime's one-off
            // work lands in one at most.
            long least = allocated.Min();
            if (least > 0)
            {
                failures.Add($"{c.Name} ({c.Description}) allocated in each of {options.Rounds} rounds (at least {least} B in {options.Iterations} calls): the server path must allocate nothing per request");
            }

            Array.Sort(ns);
            results.Add(new Result(c, ns[0], ns[ns.Length / 2], (double)allocated.Sum() / ((long)options.Rounds * options.Iterations)));
        }

        PrintTable(results);
        double Best(string name) => results.First(r => r.Case.Name == name).BestNanoseconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(RuntimeFeature.IsDynamicCodeSupported ? "jit" : "aot")} engine ns/request: plain={Best("plain"):F0} symmetric={Best("aes128"):F0} nts={Best("nts"):F0} nts7={Best("nts7"):F0}"));
        foreach (string failure in failures)
        {
            Console.Error.WriteLine($"tempus-aotbench: {failure}");
        }

        return failures.Count == 0 ? 0 : 1;
    }

    private static void PrintTable(List<Result> results)
    {
        string[] heading = ["kind", "in B", "out B", "best ns", "median ns", "alloc B/call", "what"];
        var rows = new List<string[]> { heading };
        foreach (Result r in results)
        {
            rows.Add(
            [
                r.Case.Name,
                r.Case.InputLength.ToString(CultureInfo.InvariantCulture),
                r.Case.OutputLength.ToString(CultureInfo.InvariantCulture),
                r.BestNanoseconds.ToString("F0", CultureInfo.InvariantCulture),
                r.MedianNanoseconds.ToString("F0", CultureInfo.InvariantCulture),
                r.AllocatedPerCall.ToString(r.AllocatedPerCall == 0 ? "F0" : "F3", CultureInfo.InvariantCulture),
                r.Case.Description,
            ]);
        }

        // Names and the description left-aligned, numbers right-aligned; the last column is not padded.
        int columns = heading.Length;
        int[] width = new int[columns];
        foreach (string[] row in rows)
        {
            for (int i = 0; i < columns; i++)
            {
                width[i] = Math.Max(width[i], row[i].Length);
            }
        }

        foreach (string[] row in rows)
        {
            var line = new System.Text.StringBuilder();
            for (int i = 0; i < columns; i++)
            {
                if (i > 0)
                {
                    line.Append("  ");
                }

                bool left = i == 0 || i == columns - 1;
                line.Append(i == columns - 1 ? row[i] : left ? row[i].PadRight(width[i]) : row[i].PadLeft(width[i]));
            }

            Console.WriteLine(line.ToString());
        }
    }

    private sealed record Result(BenchCase Case, double BestNanoseconds, double MedianNanoseconds, double AllocatedPerCall);
}
