using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// A long-running peer (chronyd, ntpd, tempusd) started in the foreground with its stdout and stderr
// captured. Stopping sends SIGTERM, then kills the whole process tree after a bounded grace period.
// Every live peer is also killed when the test host exits, so a test that times out leaves nothing behind.
public sealed class PeerProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<int, Process> s_live = new();
    private static int s_exitHookInstalled;

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _linesLock = new();
    private bool _stopped;

    private PeerProcess(string name, Process process, string commandLine)
    {
        Name = name;
        _process = process;
        CommandLine = commandLine;
    }

    public string Name { get; }

    public string CommandLine { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public string Output
    {
        get
        {
            lock (_linesLock)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static PeerProcess Start(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        if (Interlocked.Exchange(ref s_exitHookInstalled, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        }

        ProcessStartInfo startInfo = Harness.CommandLine.CreateStartInfo(fileName, arguments, environment, workingDirectory);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var peer = new PeerProcess(name, process, Harness.CommandLine.Render(startInfo));
        process.OutputDataReceived += (_, e) => peer.Append(e.Data);
        process.ErrorDataReceived += (_, e) => peer.Append(e.Data);
        if (!process.Start())
        {
            throw new InteropSetupException($"could not start {peer.CommandLine}");
        }

        s_live[process.Id] = process;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    public bool HasLine(Func<string, bool> predicate)
    {
        lock (_linesLock)
        {
            return _lines.Any(predicate);
        }
    }

    // Waits for an output line; fails at once with the output if the peer exits first.
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout, string description)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            lock (_linesLock)
            {
                string? line = _lines.FirstOrDefault(predicate);
                if (line is not null)
                {
                    return line;
                }
            }

            if (_process.HasExited)
            {
                // Let the asynchronous readers drain what the process wrote before it died.
                await WaitForExitAsync(TimeSpan.FromSeconds(5));
                throw new InteropSetupException(
                    $"{Name} exited with code {_process.ExitCode} before {description}\n$ {CommandLine}\n{Output}");
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new InteropSetupException(
                    $"{Name} did not show {description} within {timeout.TotalSeconds:F0} s\n$ {CommandLine}\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    // Returns whether the peer exited on SIGTERM within the grace period (false: it had to be killed).
    public async Task<bool> StopAsync(TimeSpan gracePeriod)
    {
        if (_stopped)
        {
            return true;
        }

        _stopped = true;
        bool exitedOnTerm = true;
        if (!_process.HasExited)
        {
            SendSigterm(_process.Id);
            exitedOnTerm = await WaitForExitAsync(gracePeriod);
            if (!exitedOnTerm)
            {
                KillTree(_process);
                await WaitForExitAsync(TimeSpan.FromSeconds(5));
            }
        }

        s_live.TryRemove(_process.Id, out _);
        return exitedOnTerm;
    }

    public void WriteTo(ITestOutputHelper output, string? extra = null)
    {
        var text = new StringBuilder();
        text.Append("===== ").Append(Name).Append(" (pid ").Append(_process.Id).Append(") =====\n");
        text.Append("$ ").Append(CommandLine).Append('\n');
        text.Append(Output).Append('\n');
        if (extra is not null)
        {
            text.Append(extra).Append('\n');
        }

        text.Append("===== end of ").Append(Name).Append(_process.HasExited ? $", exit code {_process.ExitCode}" : string.Empty).Append(" =====");
        output.WriteLine(text.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }

    public static void KillAll()
    {
        foreach ((int id, Process process) in s_live)
        {
            KillTree(process);
            s_live.TryRemove(id, out _);
        }
    }

    private async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_linesLock)
        {
            _lines.Add(line);
        }
    }

    private static void SendSigterm(int pid)
    {
        // .NET has no API to send SIGTERM to another process; kill(1) is in every base system.
        try
        {
            using Process? kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
            });
            kill?.WaitForExit(5000);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No kill(1): the caller falls back to Process.Kill after the grace period.
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
    }
}
