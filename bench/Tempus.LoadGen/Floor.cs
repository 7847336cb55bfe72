using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Tempus.LoadGen;

/// <summary>What the floor program (--floor) used, sampled as the daemons' start figures are.</summary>
/// <param name="CommandLine">How it was started.</param>
/// <param name="AtReady">Its memory the moment it said ready.</param>
internal sealed record FloorResult(string CommandLine, ProcessSample AtReady);

/// <summary>
/// Runs bench/Tempus.RssFloor (NativeAOT runtime + Tempus's OpenSSL TLS 1.3 server context + one UDP socket) with the
/// benchmark's own NTS-KE certificate, samples its memory, and stops it: the part of tempusd's RSS that is not Tempus.
/// Only the process started here is ever signalled or killed.
/// </summary>
internal static class Floor
{
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(10);
    private const int MaxLogLength = 16 * 1024;

    /// <summary>
    /// Starts the floor program on a free UDP port with the environment, nice and pinning tempusd gets, waits for its
    /// <c>ready</c> line, samples it, then closes its stdin and expects it to exit 0. Retries with a new port if it
    /// exits before ready (another program took the port between choosing and binding it).
    /// </summary>
    public static async Task<FloorResult> MeasureAsync(string path, BenchSetup setup, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            List<string> arguments =
            [
                "--port", ServerUnderTest.FreeUdpPort().ToString(CultureInfo.InvariantCulture),
                "--cert", setup.Pki.Server.CertificateChainFile,
                "--key", setup.Pki.Server.PrivateKeyFile,
            ];
            // The runtime's settings as the shipped unit gives them to tempusd (the GC's gen0 budget shapes the heap).
            (Process process, string commandLine) = ServerUnderTest.Start(
                setup.Options, path, arguments, tempusEnvironment: true, redirectInput: true, $"cannot run the floor program {path} (scripts/bench-server.sh publishes it)");
            using (process)
            {
                var errors = new StringBuilder();
                process.ErrorDataReceived += (_, e) =>
                {
                    lock (errors)
                    {
                        if (e.Data is not null && errors.Length < MaxLogLength)
                        {
                            errors.AppendLine(e.Data);
                        }
                    }
                };
                process.BeginErrorReadLine();
                string Errors()
                {
                    lock (errors)
                    {
                        return errors.ToString();
                    }
                }

                try
                {
                    string? line;
                    using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                    {
                        timeout.CancelAfter(s_readyTimeout);
                        try
                        {
                            line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                        {
                            throw new BenchmarkException($"floor: `{commandLine}` did not print ready within {s_readyTimeout.TotalSeconds:F0} s\n{Errors()}");
                        }
                    }

                    if (line is null)
                    {
                        // End of output: it exited (wait for the exit and the last of its stderr).
                        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                        if (attempt < 3)
                        {
                            continue;
                        }

                        throw new BenchmarkException($"floor: `{commandLine}` exited with code {process.ExitCode} before ready\n{Errors()}");
                    }

                    if (line != "ready")
                    {
                        throw new BenchmarkException($"floor: `{commandLine}` printed '{(line.Length > 80 ? line[..80] + "..." : line)}' instead of ready\n{Errors()}");
                    }

                    // As ServerBenchmark samples each daemon's AtStart: the moment it is ready, with no pause.
                    ProcessSample sample = ProcStats.SampleTree(process.Id);
                    process.StandardInput.Close();
                    if (!await ExitedAsync(process, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false))
                    {
                        throw new BenchmarkException($"floor: `{commandLine}` did not exit within 5 s of the end of its stdin\n{Errors()}");
                    }

                    return process.ExitCode == 0
                        ? new FloorResult(commandLine, sample)
                        : throw new BenchmarkException($"floor: `{commandLine}` exited with code {process.ExitCode} at the end of its stdin\n{Errors()}");
                }
                finally
                {
                    Stop(process);
                }
            }
        }
    }

    private static async Task<bool> ExitedAsync(Process process, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    // Only on the way out of an error or a cancellation: SIGTERM, then SIGKILL after 5 s.
    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                _ = Posix.Kill(process.Id, Posix.SIGTERM);
                if (!process.WaitForExit(5000))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
    }
}
