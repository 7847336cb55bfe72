using System.Globalization;

namespace Tempus.LoadGen;

/// <summary>CPU time and memory of a process and its children (chronyd forks an NTS-KE helper), from /proc.</summary>
/// <param name="CpuSeconds">utime + stime of the process and its live children.</param>
/// <param name="RssKiB">VmRSS summed over the process and its children.</param>
/// <param name="HwmKiB">VmHWM (peak RSS) summed over the process and its children.</param>
/// <param name="Processes">How many processes were summed.</param>
/// <param name="PssKiB">
/// Pss summed over the process and its children: each page shared by n processes counts 1/n. VmRSS counts a shared
/// library page in full in every process, so chronyd and its forked NTS-KE helper count libc and GnuTLS twice; Pss
/// counts them once, and a library page shared with the rest of the machine hardly at all.
/// </param>
/// <param name="PrivateKiB">Private_Clean + Private_Dirty summed: the pages no other process maps (freed if it exits).</param>
/// <param name="AnonKiB">Anonymous summed: heap, stacks, the runtime's data; what file-backed code is not.</param>
internal readonly record struct ProcessSample(double CpuSeconds, long RssKiB, long HwmKiB, int Processes, long PssKiB = 0, long PrivateKiB = 0, long AnonKiB = 0);

/// <summary>Reads /proc: per-process CPU and memory, the machine's busy time, and UDP socket drop counters.</summary>
internal static class ProcStats
{
    private static readonly double s_secondsPerTick = 1.0 / Posix.ClockTicksPerSecond;

    /// <summary>Samples <paramref name="pid"/> and every process whose parent it is.</summary>
    public static ProcessSample SampleTree(int pid)
    {
        double cpu = 0;
        long rss = 0;
        long hwm = 0;
        long pss = 0;
        long priv = 0;
        long anon = 0;
        int count = 0;
        foreach (int member in TreeOf(pid))
        {
            if (TryReadStat(member, out _, out double seconds) && TryReadStatus(member, out long memberRss, out long memberHwm))
            {
                cpu += seconds;
                rss += memberRss;
                hwm += memberHwm;
                count++;
                if (TryReadRollup(member, out long memberPss, out long memberPrivate, out long memberAnon))
                {
                    pss += memberPss;
                    priv += memberPrivate;
                    anon += memberAnon;
                }
            }
        }

        return count == 0
            ? throw new InvalidOperationException($"process {pid} is gone: /proc/{pid} cannot be read")
            : new ProcessSample(cpu, rss, hwm, count, pss, priv, anon);
    }

    /// <summary>Context switches, voluntary and not, summed over every thread of <paramref name="pid"/> and its children.</summary>
    public static long ContextSwitchesOfTree(int pid) => SumOverTasks(pid, static line =>
        line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal)
            ? KiB(line)
            : 0);

    /// <summary>Threads of <paramref name="pid"/> and its children.</summary>
    public static int ThreadsOfTree(int pid) => (int)SumOverTasks(pid, static _ => 0, perTask: 1);

    /// <summary>This process's own CPU time (the load generator).</summary>
    public static double SelfCpuSeconds() => TryReadStat(Environment.ProcessId, out _, out double seconds) ? seconds : 0;

    /// <summary>
    /// The whole machine's CPU seconds spent in processes (all CPUs, /proc/stat "cpu" line: user, nice, system, steal).
    /// Interrupt and softirq time are left out: much of it is the loopback traffic of the benchmark itself.
    /// </summary>
    public static double MachineBusySeconds()
    {
        using var reader = new StreamReader("/proc/stat");
        string? line = reader.ReadLine();
        if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal))
        {
            throw new InvalidDataException("/proc/stat: first line is not the \"cpu\" total");
        }

        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long busy = 0;
        // user nice system idle iowait irq softirq steal (guest time is already inside user).
        for (int i = 1; i <= Math.Min(8, fields.Length - 1); i++)
        {
            if (i is 4 or 5 or 6 or 7)
            {
                continue;
            }

            busy += long.Parse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture);
        }

        return busy * s_secondsPerTick;
    }

    /// <summary>
    /// Sums the kernel's "drops" column of /proc/net/udp over the IPv4 UDP sockets bound to the given local ports:
    /// datagrams that arrived for a socket whose receive buffer was full.
    /// </summary>
    public static long UdpDrops(IReadOnlySet<int> localPorts)
    {
        long drops = 0;
        bool header = true;
        foreach (string line in File.ReadLines("/proc/net/udp"))
        {
            if (header)
            {
                header = false;
                continue;
            }

            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 13)
            {
                continue;
            }

            int colon = fields[1].IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !int.TryParse(fields[1].AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int port))
            {
                continue;
            }

            if (localPorts.Contains(port) && long.TryParse(fields[^1], NumberStyles.None, CultureInfo.InvariantCulture, out long socketDrops))
            {
                drops += socketDrops;
            }
        }

        return drops;
    }

    /// <summary>The first line of /proc/loadavg's three averages.</summary>
    public static string LoadAverage()
    {
        string[] fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return fields.Length >= 3 ? $"{fields[0]} {fields[1]} {fields[2]}" : "?";
    }

    private static List<int> TreeOf(int pid)
    {
        var tree = new List<int> { pid };
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int candidate)
                && candidate != pid && TryReadStat(candidate, out int parent, out _) && parent == pid)
            {
                tree.Add(candidate);
            }
        }

        return tree;
    }

    // /proc/PID/stat: "pid (comm) state ppid ... utime stime ..."; comm may hold spaces and parentheses, so the
    // fields are counted from the last ')'. ppid is field 4, utime 14 and stime 15 (1-based, proc(5)).
    private static bool TryReadStat(int pid, out int parent, out double cpuSeconds)
    {
        parent = 0;
        cpuSeconds = 0;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        int close = text.LastIndexOf(')');
        if (close < 0)
        {
            return false;
        }

        string[] fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 13
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out parent)
            || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out long utime)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out long stime))
        {
            return false;
        }

        cpuSeconds = (utime + stime) * s_secondsPerTick;
        return true;
    }

    private static bool TryReadStatus(int pid, out long rssKiB, out long hwmKiB)
    {
        rssKiB = 0;
        hwmKiB = 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rssKiB = KiB(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwmKiB = KiB(line);
                }
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    // /proc/PID/smaps_rollup (Linux 4.14): the smaps fields summed over every mapping, in kB.
    private static bool TryReadRollup(int pid, out long pssKiB, out long privateKiB, out long anonKiB)
    {
        pssKiB = 0;
        privateKiB = 0;
        anonKiB = 0;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    pssKiB = KiB(line);
                }
                else if (line.StartsWith("Private_Clean:", StringComparison.Ordinal) || line.StartsWith("Private_Dirty:", StringComparison.Ordinal))
                {
                    privateKiB += KiB(line);
                }
                else if (line.StartsWith("Anonymous:", StringComparison.Ordinal))
                {
                    anonKiB = KiB(line);
                }
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    // Adds value(line) over the status lines of every thread (/proc/PID/task/TID/status), plus perTask for each thread.
    private static long SumOverTasks(int pid, Func<string, long> value, long perTask = 0)
    {
        long sum = 0;
        foreach (int member in TreeOf(pid))
        {
            IEnumerable<string> tasks;
            try
            {
                tasks = Directory.EnumerateDirectories($"/proc/{member}/task").ToArray();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (string task in tasks)
            {
                try
                {
                    foreach (string line in File.ReadLines(Path.Combine(task, "status")))
                    {
                        sum += value(line);
                    }

                    sum += perTask;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The thread ended between the listing and the read.
                }
            }
        }

        return sum;
    }

    // "VmRSS:	   12345 kB"
    private static long KiB(string line)
    {
        string[] fields = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long value) ? value : 0;
    }
}
