using System.Diagnostics;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.LoadGen;

/// <summary>What the NTS-KE measurement found.</summary>
/// <param name="Handshakes">Completed key exchanges (TLS 1.3 handshake, request, response with cookies, close).</param>
/// <param name="Failures">Exchanges that failed.</param>
/// <param name="Seconds">Wall time of the measurement.</param>
/// <param name="ServerCpuSeconds">Server CPU (process tree) over the measurement.</param>
/// <param name="GeneratorCpuSeconds">This process's CPU over the measurement (the TLS client side).</param>
/// <param name="FirstFailure">The first failure's message, if any.</param>
/// <param name="ServerContextSwitches">Context switches (voluntary and not) of the server's threads over the measurement.</param>
/// <param name="ServerThreads">The server's thread count (process tree) at the end of the measurement.</param>
/// <param name="OtherCpuSeconds">CPU time of every other process on the machine over the measurement (as for the UDP steps).</param>
internal readonly record struct NtsKeResult(
    long Handshakes, long Failures, double Seconds, double ServerCpuSeconds, double GeneratorCpuSeconds, string? FirstFailure, long ServerContextSwitches, int ServerThreads,
    double OtherCpuSeconds)
{
    public double Rate => Handshakes / Seconds;
}

/// <summary>Parallel NtsKeClient exchanges against one server for a bounded time and count.</summary>
internal static class NtsKeLoad
{
    private const long MaxHandshakes = 100_000;

    public static NtsKeClientOptions ClientOptions(BenchSetup setup) => new()
    {
        AeadAlgorithms = [NtsAeadAlgorithm.AesSivCmac256],
        TrustedCertificateFiles = [setup.Pki.CaCertificateFile],
        UseSystemCertificates = false,
        CertificateName = "127.0.0.1",
    };

    /// <summary>One exchange, for the NTS load's keys and cookies.</summary>
    public static async Task<NtsSession> ExchangeAsync(BenchSetup setup, ServerUnderTest server, CancellationToken cancellationToken)
    {
        try
        {
            return await new NtsKeClient().ExchangeAsync("127.0.0.1", server.NtsPort, ClientOptions(setup), cancellationToken).ConfigureAwait(false);
        }
        catch (NtsKeException e)
        {
            throw new BenchmarkException($"NTS-KE with {server.Name} on 127.0.0.1:{server.NtsPort} failed: {e.Message}\n{server.Log}");
        }
    }

    public static async Task<NtsKeResult> RunAsync(BenchSetup setup, ServerUnderTest server, CancellationToken cancellationToken)
    {
        for (int i = 0; i < 3; i++)
        {
            await ExchangeAsync(setup, server, cancellationToken).ConfigureAwait(false);
        }

        // Warm-up, not counted, as for the UDP kinds: JIT tiering in both processes (tempusd's NTS-KE code runs for
        // the first time here), TLS contexts, the thread pools.
        await RunLoadAsync(setup, server, TimeSpan.FromSeconds(setup.Options.Quick ? 0.5 : 1), cancellationToken).ConfigureAwait(false);

        double server0 = ProcStats.SampleTree(server.Pid).CpuSeconds;
        long switches0 = ProcStats.ContextSwitchesOfTree(server.Pid);
        double self0 = ProcStats.SelfCpuSeconds();
        double machine0 = ProcStats.MachineBusySeconds();
        (long handshakes, long failures, double seconds, string? firstFailure) =
            await RunLoadAsync(setup, server, TimeSpan.FromSeconds(setup.Options.KeSeconds), cancellationToken).ConfigureAwait(false);
        double serverCpu = ProcStats.SampleTree(server.Pid).CpuSeconds - server0;
        double selfCpu = ProcStats.SelfCpuSeconds() - self0;
        double machineCpu = ProcStats.MachineBusySeconds() - machine0;
        return new NtsKeResult(
            handshakes, failures, seconds, serverCpu, selfCpu,
            firstFailure,
            ProcStats.ContextSwitchesOfTree(server.Pid) - switches0,
            ProcStats.ThreadsOfTree(server.Pid),
            Math.Max(0, machineCpu - serverCpu - selfCpu));
    }

    private static async Task<(long Handshakes, long Failures, double Seconds, string? FirstFailure)> RunLoadAsync(
        BenchSetup setup, ServerUnderTest server, TimeSpan duration, CancellationToken cancellationToken)
    {
        // One TLS context for every exchange, as a busy client would keep: a context per exchange (the daemon's way,
        // which rereads the CA file) cost the generator ~1.3 ms CPU per handshake against the server's ~0.35 ms, so
        // on a 2-core machine the generator, not the server, set the handshake rate.
        NtsKeClientOptions options = ClientOptions(setup);
        using var tls = new TlsClientContext(new TlsClientOptions
        {
            ServerName = options.CertificateName!,
            TrustedCertificateFiles = options.TrustedCertificateFiles,
            UseSystemCertificates = options.UseSystemCertificates,
        });
        var client = new NtsKeClient(tls);
        long handshakes = 0;
        long failures = 0;
        string? firstFailure = null;
        var stopwatch = Stopwatch.StartNew();

        async Task WorkerAsync()
        {
            while (stopwatch.Elapsed < duration && Interlocked.Read(ref handshakes) < MaxHandshakes && !cancellationToken.IsCancellationRequested)
            {
                try
                {
                    NtsSession session = await client.ExchangeAsync("127.0.0.1", server.NtsPort, options, cancellationToken).ConfigureAwait(false);
                    if (session.Cookies.Count > 0)
                    {
                        Interlocked.Increment(ref handshakes);
                    }
                    else
                    {
                        Interlocked.Increment(ref failures);
                        Interlocked.CompareExchange(ref firstFailure, "a response with no cookie", null);
                    }
                }
                catch (NtsKeException e)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstFailure, e.Message, null);
                }
            }
        }

        Task[] workers = new Task[setup.Options.KeConcurrency];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(WorkerAsync, cancellationToken);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return (handshakes, failures, stopwatch.Elapsed.TotalSeconds, firstFailure);
    }
}
