using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Tempus.Nts;

namespace Tempus.LoadGen;

/// <summary>Every figure measured for one server.</summary>
internal sealed class ServerResult
{
    public required string Name { get; init; }

    public string Version { get; set; } = "";

    public Dictionary<LoadKind, KindResult> Kinds { get; } = [];

    public NtsKeResult NtsKe { get; set; }

    public ProcessSample AtStart { get; set; }

    public ProcessSample AfterUdpLoad { get; set; }

    public ProcessSample AtEnd { get; set; }
}

/// <summary>
/// Runs every measurement against the servers: both daemons are started first, then each kind is measured on one
/// server after the other, so a change in the machine's background load hits both alike; only one daemon is
/// under load at a time (the other sits idle).
/// </summary>
internal static class ServerBenchmark
{
    public static async Task<IReadOnlyList<ServerResult>> RunAsync(IReadOnlyList<string> names, BenchSetup setup, RequestPool plain, RequestPool symmetric, CancellationToken cancellationToken)
    {
        LoadGenOptions options = setup.Options;
        var servers = new List<ServerUnderTest>();
        try
        {
            var results = new List<ServerResult>();
            var ntsPools = new List<RequestPool>();
            foreach (string name in names)
            {
                ServerUnderTest server = await ServerUnderTest.StartAsync(name, setup, cancellationToken).ConfigureAwait(false);
                servers.Add(server);
                Console.WriteLine($"== {name}: {server.CommandLine} (pid {server.Pid}), NTP 127.0.0.1:{server.Port}, NTS-KE 127.0.0.1:{server.NtsPort}");
                results.Add(new ServerResult { Name = name, AtStart = ProcStats.SampleTree(server.Pid) });
                NtsSession session = await NtsKeLoad.ExchangeAsync(setup, server, cancellationToken).ConfigureAwait(false);
                if (session.Algorithm != Tempus.Protocol.NtsAeadAlgorithm.AesSivCmac256)
                {
                    throw new BenchmarkException($"{name} negotiated AEAD {(int)session.Algorithm}, not 15");
                }

                ntsPools.Add(RequestPool.Nts(LoadGenOptions.PoolSize, session));
            }

            foreach (LoadKind kind in options.Kinds)
            {
                Console.WriteLine($"== {Report.KindName(kind)} requests");
                for (int i = 0; i < servers.Count; i++)
                {
                    ServerUnderTest server = servers[i];
                    RequestPool pool = kind switch { LoadKind.Plain => plain, LoadKind.Symmetric => symmetric, _ => ntsPools[i] };
                    await VerifyAsync(pool, server, cancellationToken).ConfigureAwait(false);
                    var kindResult = new KindResult { Kind = kind, RequestLength = pool.RequestLength };
                    kindResult.GeneratorCeiling = MeasureCeiling(pool, options, cancellationToken);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"   {server.Name}: {pool.RequestLength}-byte requests, {pool.Count} distinct, checked fully on 3 exchanges; generator ceiling {kindResult.GeneratorCeiling:F0}/s into a socket that reads nothing"));
                    using var load = new UdpLoad(pool, server.Endpoint, options.Sockets, options.Nice);
                    // Warm-up, not counted: JIT tiering in both processes, socket buffers, caches.
                    load.RunStep(options.StartRate / 2, TimeSpan.FromSeconds(options.Quick ? 0.5 : 1), TimeSpan.FromMilliseconds(100), server.Pid, cancellationToken);
                    results[i].Kinds[kind] = RateSearch.Run(load, server, options, kindResult, cancellationToken);
                }
            }

            for (int i = 0; i < servers.Count; i++)
            {
                results[i].AfterUdpLoad = ProcStats.SampleTree(servers[i].Pid);
            }

            if (options.MeasureNtsKe)
            {
                Console.WriteLine($"== NTS-KE: {options.KeConcurrency} parallel exchanges for {options.KeSeconds} s");
            }

            for (int i = 0; i < servers.Count && options.MeasureNtsKe; i++)
            {
                ServerResult result = results[i];
                result.NtsKe = await NtsKeLoad.RunAsync(setup, servers[i], cancellationToken).ConfigureAwait(false);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {result.Name,-6} nts-ke    {result.NtsKe.Handshakes} handshakes in {result.NtsKe.Seconds:F1} s = {result.NtsKe.Rate:F0}/s, " +
                    $"{result.NtsKe.Failures} failed{(result.NtsKe.FirstFailure is string f ? $" (first: {f})" : "")}; " +
                    $"server cpu {100 * result.NtsKe.ServerCpuSeconds / result.NtsKe.Seconds:F0}%, generator cpu {100 * result.NtsKe.GeneratorCpuSeconds / result.NtsKe.Seconds:F0}%"));
            }

            for (int i = 0; i < servers.Count; i++)
            {
                results[i].AtEnd = ProcStats.SampleTree(servers[i].Pid);
            }

            return results;
        }
        finally
        {
            foreach (ServerUnderTest server in servers)
            {
                Console.WriteLine($"== {server.Name}: stopping");
                server.Dispose();
            }
        }
    }

    // The generator alone: the same pool and socket count, aimed at a bound socket that never reads, at --max-rate.
    private static double MeasureCeiling(RequestPool pool, LoadGenOptions options, CancellationToken cancellationToken)
    {
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var load = new UdpLoad(pool, (IPEndPoint)sink.LocalEndPoint!, options.Sockets, options.Nice);
        StepResult step = load.RunStep(options.MaxRate, TimeSpan.FromSeconds(options.Quick ? 0.3 : 0.6), TimeSpan.Zero, 0, cancellationToken);
        return step.SendRate;
    }

    // One full exchange per sample request, over an ordinary socket, checked completely (MAC, NTS authenticator):
    // the load's cheap check counts responses that this proved to be authentic.
    private static async Task VerifyAsync(RequestPool pool, ServerUnderTest server, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        byte[] buffer = new byte[2048];
        for (int index = 0; index < 3; index++)
        {
            string? problem = "no response within 2 s (3 tries)";
            for (int attempt = 0; attempt < 3 && problem is not null; attempt++)
            {
                await socket.SendToAsync(pool.Datagram(index).ToArray(), server.Endpoint, cancellationToken).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2.0 / 3));
                try
                {
                    SocketReceiveFromResult received = await socket.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token).ConfigureAwait(false);
                    problem = pool.VerifyExchange(index, buffer.AsSpan(0, received.ReceivedBytes));
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
            }

            if (problem is not null)
            {
                throw new BenchmarkException($"{server.Name} does not answer {Report.KindName(pool.Kind)} requests correctly: {problem}\n{server.Log}");
            }
        }
    }
}
