using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Native;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;
using Tempus.Testing;
using Tempus.Tests.Nts;

namespace Tempus.Tests.Server;

/// <summary>The batched server on loopback (recvmmsg/sendmmsg, SO_REUSEPORT workers) and its per-request allocation.</summary>
public sealed class UdpNtpServerTests : IDisposable
{
    // Waits for what must happen (a reply, a worker's count): the limit only bounds a broken run, and a loaded
    // 2-core CI machine can hold a worker or the test thread off the CPU for seconds.
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly string _keyFile = Path.Combine(Path.GetTempPath(), $"tempus-udp-{Guid.NewGuid():N}.keys");
    private readonly KeyRing _keys;
    private readonly NtsServerKeyRing _ring = NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 604800);

    public UdpNtpServerTests()
    {
        File.WriteAllText(_keyFile, "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
    }

    public void Dispose()
    {
        _ring.Dispose();
        _keys.Dispose();
        File.Delete(_keyFile);
    }

    private NtpServerEngine Engine(ClientLog? clientLog = null, ISystemClock? clock = null)
    {
        var access = new AccessRules();
        access.Add(true, false, null);
        return new NtpServerEngine(clock ?? RealtimeClock.Instance, _keys, access, false, now => ReferenceState.Local(2, now), _ring, clientLog);
    }

    private static byte[] Plain(ulong transmit)
    {
        var header = new NtpPacketHeader { Version = 4, Mode = NtpMode.Client, TransmitTimestamp = new NtpTimestamp(transmit) };
        byte[] buffer = new byte[NtpPacketHeader.Size];
        header.TryWrite(buffer, out _);
        return buffer;
    }

    private byte[] Symmetric(ulong transmit)
    {
        Assert.True(_keys.TryGetKey(21, out SymmetricKey? key));
        byte[] buffer = new byte[100];
        var header = new NtpPacketHeader { Version = 4, Mode = NtpMode.Client, TransmitTimestamp = new NtpTimestamp(transmit) };
        header.TryWrite(buffer, out int length);
        length += key!.WriteMac(buffer.AsSpan(0, length), buffer.AsSpan(length));
        return buffer[..length];
    }

    [Fact]
    public void ManyClientsAreAnsweredInBatchesWithKernelReceiveTimestamps()
    {
        NtpServerEngine engine = Engine();
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance, workers: 1);
        server.Start();
        IPEndPoint endpoint = server.LocalEndpoints[0];

        const int clients = 100;
        var sockets = new Socket[clients];
        try
        {
            long before = RealtimeClock.Instance.UnixNanoseconds;
            // Sent before any is read, so the worker finds many queued at once and takes them in one recvmmsg.
            for (int i = 0; i < clients; i++)
            {
                sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)s_timeout.TotalMilliseconds };
                sockets[i].SendTo(Plain(0x1000UL + (ulong)i), endpoint);
            }

            byte[] buffer = new byte[256];
            for (int i = 0; i < clients; i++)
            {
                int length = sockets[i].Receive(buffer);
                long after = RealtimeClock.Instance.UnixNanoseconds;
                Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(buffer.AsSpan(0, length), out NtpPacketHeader response));
                Assert.Equal(NtpMode.Server, response.Mode);
                Assert.Equal(2, response.Stratum);
                Assert.Equal(new NtpTimestamp(0x1000UL + (ulong)i), response.OriginTimestamp);
                long t2 = response.ReceiveTimestamp.ToUnixTimeNanoseconds(before);
                long t3 = response.TransmitTimestamp.ToUnixTimeNanoseconds(before);
                Assert.InRange(t2, before - ClockReads.CrossCpuSlackNanoseconds, after + ClockReads.CrossCpuSlackNanoseconds);
                Assert.True(t3 >= t2 - ClockReads.CrossCpuSlackNanoseconds, "T3 is taken after T2");
            }
        }
        finally
        {
            foreach (Socket? s in sockets)
            {
                s?.Dispose();
            }
        }

        Assert.Equal(clients, engine.Counters.Received);
        Assert.Equal(clients, engine.Counters.Responded);
    }

    [Fact]
    public void ABurstLargerThanTheKernelsDefaultReceiveBufferWaitsForTheWorkerInsteadOfBeingDropped()
    {
        // The kernel's default buffer (net.core.rmem_default, 208 KiB unless tuned) holds only about 250 small
        // datagrams; the server asks for UdpNtpServer.ReceiveBufferBytes, which holds 400 even where
        // net.core.rmem_max is the kernel's default (the size is then capped at 2 x 208 KiB).
        const int burst = 400;
        NtpServerEngine engine = Engine();
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance, workers: 1);
        IPEndPoint endpoint = server.LocalEndpoints[0];
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
        {
            ReceiveTimeout = (int)s_timeout.TotalMilliseconds,
            ReceiveBufferSize = UdpNtpServer.ReceiveBufferBytes,
        };
        client.Connect(endpoint);

        // Not started yet: the whole burst queues in the worker's socket, as when its thread is kept off the CPU.
        for (int i = 0; i < burst; i++)
        {
            client.Send(Plain(0x5000UL + (ulong)i));
        }

        server.Start();
        byte[] buffer = new byte[256];
        var answered = new HashSet<ulong>();
        for (int i = 0; i < burst; i++)
        {
            int length = client.Receive(buffer);
            Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(buffer.AsSpan(0, length), out NtpPacketHeader response));
            Assert.True(answered.Add(response.OriginTimestamp.Value), "each request is answered once");
        }

        Assert.Equal(burst, answered.Count);
        Assert.Equal(burst, engine.Counters.Received);
    }

    [Fact]
    public void ARequestWhoseAnswerThrowsIsDroppedAndCountedAndTheWorkerGoesOn()
    {
        // A key ring wiped under the server (a fault of the daemon's, which a reload's retirement delay avoids):
        // verifying the MAC throws ObjectDisposedException inside the engine.
        KeyRing wiped = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        var access = new AccessRules();
        access.Add(true, false, null);
        var engine = new NtpServerEngine(RealtimeClock.Instance, wiped, access, false, now => ReferenceState.Local(2, now), _ring, null);
        wiped.Dispose();
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance, workers: 1);
        server.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)s_timeout.TotalMilliseconds };
        client.Connect(server.LocalEndpoints[0]);

        client.Send(Symmetric(0x6001));
        client.Send(Plain(0x6002));
        byte[] buffer = new byte[256];
        int length = client.Receive(buffer);

        // The worker answered the request after the one that failed; the failure came first, in the same worker.
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(buffer.AsSpan(0, length), out NtpPacketHeader response));
        Assert.Equal(new NtpTimestamp(0x6002), response.OriginTimestamp);
        Assert.Equal(1, engine.Counters.Failed);
        Assert.Equal(1, engine.Counters.Dropped);
        Assert.Equal(1, engine.Counters.Responded);
    }

    [Fact]
    public void SymmetricKeyAndNtsRequestsAreAnsweredThroughTheBatchPath()
    {
        NtpServerEngine engine = Engine();
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.IPv6Any, 0)], NullLogger.Instance, workers: 2);
        server.Start();
        int port = server.LocalEndpoints[0].Port;

        using var v4 = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)s_timeout.TotalMilliseconds };
        v4.SendTo(Symmetric(0x2222), new IPEndPoint(IPAddress.Loopback, port));
        byte[] buffer = new byte[2048];
        int length = v4.Receive(buffer);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(buffer.AsSpan(0, length), out NtpPacketLayout layout));
        Assert.True(layout.HasMac);
        Assert.Equal(21u, layout.MacKeyId);
        Assert.True(_keys.TryGetKey(21, out SymmetricKey? key));
        Assert.True(key!.VerifyDigest(layout.AuthenticatedData, layout.MacDigest));
        Assert.Equal(new NtpTimestamp(0x2222), layout.Header.OriginTimestamp);

        using var v6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)s_timeout.TotalMilliseconds };
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 2);
        NtsNtpRequest request = NtsNtpRequest.Create(session, -20);
        v6.SendTo(request.Datagram.Span, new IPEndPoint(IPAddress.IPv6Loopback, port));
        length = v6.Receive(buffer);
        Assert.Equal(NtsResponseStatus.Accepted, request.Accept(buffer.AsSpan(0, length), out NtpPacketHeader header));
        Assert.Equal(2, header.Stratum);
        Assert.Equal(8, session.Cookies.Count);
        Assert.Equal(1, engine.Counters.NtsAuthenticated);
        Assert.Equal(1, engine.Counters.Authenticated);
    }

    [Fact]
    public void ReusePortWorkersShareThePortAndAllServe()
    {
        NtpServerEngine engine = Engine();
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance, workers: 4);
        Assert.Equal(4, server.WorkersPerEndpoint);
        Assert.Single(server.LocalEndpoints);
        server.Start();
        IPEndPoint endpoint = server.LocalEndpoints[0];

        // The kernel spreads by source address and port: 200 source ports reach every worker.
        const int clients = 200;
        byte[] buffer = new byte[256];
        for (int i = 0; i < clients; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)s_timeout.TotalMilliseconds };
            socket.SendTo(Plain(0x3000UL + (ulong)i), endpoint);
            int length = socket.Receive(buffer);
            Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(buffer.AsSpan(0, length), out NtpPacketHeader response));
            Assert.Equal(new NtpTimestamp(0x3000UL + (ulong)i), response.OriginTimestamp);
        }

        // A worker counts its batch after sending the answers: the last answer can reach the client first.
        SpinWait.SpinUntil(() => server.WorkerReceived.Sum() >= clients, s_timeout);
        IReadOnlyList<long> perWorker = server.WorkerReceived;
        Assert.Equal(4, perWorker.Count);
        Assert.All(perWorker, n => Assert.True(n > 0, $"worker counts {string.Join(",", perWorker)}"));
        Assert.Equal(clients, perWorker.Sum());
    }

    [Fact]
    public void AnotherProcessCannotTakeThePortOfASingleWorkerServer()
    {
        using var server = new UdpNtpServer(Engine(), RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
        SocketException e = Assert.Throws<SocketException>(() =>
            new UdpNtpServer(Engine(), RealtimeClock.Instance, [server.LocalEndpoints[0]], NullLogger.Instance, workers: 2));
        Assert.Contains($"cannot bind NTP server to {server.LocalEndpoints[0]}", e.Message);
    }

    [Fact]
    public void RateLimitedClientsAreDroppedAndCountedOverTheSocket()
    {
        var log = new ClientLog(524288, new RateLimitOptions(IntervalLog2: 10, Burst: 2, Leak: 4), null, RealtimeClock.Instance);
        NtpServerEngine engine = Engine(log);
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance);
        server.Start();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 150 };
        byte[] buffer = new byte[256];
        int answered = 0;
        for (int i = 0; i < 40; i++)
        {
            socket.SendTo(Plain(0x4000UL + (ulong)i), server.LocalEndpoints[0]);
            try
            {
                socket.Receive(buffer);
                answered++;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
            }
        }

        // The 150 ms waits above decide nothing under load: a reply can come after its wait ran out. Once the
        // engine has decided about all 40 requests, every reply it made is queued or on its way; collect those.
        Assert.True(
            SpinWait.SpinUntil(() => engine.Counters.Responded + engine.Counters.RateLimited == 40, s_timeout),
            $"the server decided about {engine.Counters.Responded + engine.Counters.RateLimited} of 40 requests");
        socket.ReceiveTimeout = (int)s_timeout.TotalMilliseconds;
        while (answered < engine.Counters.Responded)
        {
            socket.Receive(buffer);
            answered++;
        }

        Assert.Equal(0, socket.Available);

        // Two from the burst, then one in 16 leaked at random.
        Assert.InRange(answered, 2, 12);
        Assert.Equal(40 - answered, engine.Counters.RateLimited);
        Assert.Equal(40 - answered, log.NtpDrops);
        Assert.Equal(40, Assert.Single(log.Snapshot(ntsKe: false, 10)).NtpRequests);
        Assert.Equal(40 - answered, engine.GetServerStats().NtpPacketsDropped);
    }

    [Fact]
    public void BatchProcessingAllocatesNothingPerRequestForPlainSymmetricAndNtsRequests()
    {
        var clock = new FakeClock(new DateTime(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc));
        var log = new ClientLog(524288, new RateLimitOptions(IntervalLog2: -19, Burst: 255, Leak: 1), null, clock);
        NtpServerEngine engine = Engine(log, clock);
        using var worker = new UdpNtpServer.Worker(engine, clock, kernelTimestamps: true, UdpNtpServer.BatchSize, NullLogger.Instance, socket: null);
        DatagramBatch batch = worker.Batch;

        // A third each: plain, AES128 MAC, NTS (AEAD 15 with one placeholder); from 64 IPv4 and IPv6 addresses.
        byte[] plain = Plain(0x5555);
        byte[] symmetric = Symmetric(0x6666);
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 7);
        byte[] nts = NtsNtpRequest.Create(session, -20).Datagram.ToArray();
        for (int i = 0; i < batch.Capacity; i++)
        {
            byte[] datagram = (i % 3) switch { 0 => plain, 1 => symmetric, _ => nts };
            batch.SetReceived(i, datagram, SockAddr(i), clock.UnixNanoseconds);
        }

        // Warm-up: the first NTS request on this thread creates its AEAD contexts; the client table makes its records.
        Assert.Equal(batch.Capacity, worker.ProcessBatch(batch.Capacity));
        batch.ClearQueue();

        // Three measured rounds of 66 batches: about 150 requests per address in all, within the burst of 255.
        const int rounds = 66;
        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int round = 0; round < rounds; round++)
                {
                    int queued = worker.ProcessBatch(batch.Capacity);
                    if (queued != batch.Capacity)
                    {
                        Assert.Fail($"round {round}: {queued} responses");
                    }

                    batch.ClearQueue();
                }
            },
            $"{rounds} batches");
        const int batches = (AllocationAssert.Rounds * rounds) + 1;
        Assert.Equal(batches * batch.Capacity, engine.Counters.Responded);
        Assert.Equal(batches * (batch.Capacity / 3), engine.Counters.NtsAuthenticated);
        Assert.True(engine.Counters.Authenticated >= batches * (batch.Capacity / 3));
    }

    [Fact]
    public void TheWorkerThreadAllocatesNothingWhileServingOverTheSocket()
    {
        var log = new ClientLog(524288, null, null, RealtimeClock.Instance);
        NtpServerEngine engine = Engine(log);
        using var server = new UdpNtpServer(engine, RealtimeClock.Instance, [new IPEndPoint(IPAddress.Loopback, 0)], NullLogger.Instance, workers: 1);
        server.Start();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)s_timeout.TotalMilliseconds };
        client.Connect(server.LocalEndpoints[0]);
        NtsSession session = NtsTestSessions.Create(_ring, NtsAeadAlgorithm.AesSivCmac256, cookies: 8);
        byte[] buffer = new byte[2048];

        void Exchange(int count)
        {
            for (int i = 0; i < count; i++)
            {
                NtsNtpRequest? nts = null;
                byte[] request = (i % 3) switch
                {
                    0 => Plain((ulong)i),
                    1 => Symmetric((ulong)i),
                    _ => (nts = NtsNtpRequest.Create(session, -20)).Datagram.ToArray(),
                };
                client.Send(request);
                int length = client.Receive(buffer);
                Assert.True(nts is null || nts.Accept(buffer.AsSpan(0, length), out _) == NtsResponseStatus.Accepted);
            }
        }

        // Warm-up: the worker's first NTS request creates its AEAD contexts, the client table its record.
        Exchange(30);
        Assert.True(SpinWait.SpinUntil(() => server.WorkerReceived[0] == 30, s_timeout));

        // As AllocationAssert does on the test thread: rounds of 500, failing when every round allocated. An allocation
        // per request shows in each round; the runtime's one-off work on the worker thread (tiered compilation reaching
        // a call-count threshold there and starting its background worker, later on a loaded machine) in one at most.
        long[] allocated = new long[AllocationAssert.Rounds];
        long exchanged = 30;
        for (int round = 0; round < allocated.Length; round++)
        {
            long before = server.WorkerAllocatedBytes[0];
            Exchange(500);
            exchanged += 500;
            Assert.True(SpinWait.SpinUntil(() => server.WorkerReceived[0] == exchanged, s_timeout));
            allocated[round] = server.WorkerAllocatedBytes[0] - before;
        }

        Assert.False(
            allocated.All(bytes => bytes > 0),
            $"the worker allocated in each of {allocated.Length} rounds of 500 requests ({string.Join(", ", allocated)} bytes): something allocates per request");
        Assert.Equal(1530, engine.Counters.Responded);
    }

    [Fact]
    public void KernelTimestampsBecomeT2AndUnusableSlotsAreSkipped()
    {
        // The engine serves a clock of its own (tempusd -x's corrected clock, a cooked clock): the kernel's
        // CLOCK_REALTIME stamps are mapped onto it by the two clocks' difference, read once per batch.
        var clock = new FakeClock(new DateTime(2026, 11, 29, 12, 0, 0, DateTimeKind.Utc));
        NtpServerEngine engine = Engine(clock: clock);
        using var worker = new UdpNtpServer.Worker(engine, clock, kernelTimestamps: true, 4, NullLogger.Instance, socket: null);
        long kernel = RealtimeClock.Instance.UnixNanoseconds - 5_000_000;
        worker.Batch.SetReceived(0, Plain(1), SockAddr(0), kernel);
        worker.Batch.SetReceived(1, Plain(2), SockAddr(1), 0);
        worker.Batch.SetReceived(2, [1, 2, 3], SockAddr(2), kernel);
        worker.Batch.SetReceived(3, Plain(3), [1, 0, 0, 0], kernel);

        long before = RealtimeClock.Instance.UnixNanoseconds;
        Assert.Equal(2, worker.ProcessBatch(4));
        long after = RealtimeClock.Instance.UnixNanoseconds;
        Assert.Equal(1, engine.Counters.Malformed);
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(worker.Batch.SendBuffer(0), out NtpPacketHeader first));
        long t2 = first.ReceiveTimestamp.ToUnixTimeNanoseconds(clock.UnixNanoseconds);
        // kernel + (fake − realtime at the batch), the batch's read bracketed by before/after (give or take the CPUs' skew).
        Assert.InRange(
            t2,
            kernel + clock.UnixNanoseconds - after - ClockReads.CrossCpuSlackNanoseconds,
            kernel + clock.UnixNanoseconds - before + ClockReads.CrossCpuSlackNanoseconds);
        Assert.True(t2 < clock.UnixNanoseconds, "the kernel's stamp is 5 ms before the batch, on the served clock too");
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(worker.Batch.SendBuffer(1), out NtpPacketHeader second));
        // No kernel timestamp: the clock is read instead, which is later than the kernel's.
        Assert.True(second.ReceiveTimestamp.Value > first.ReceiveTimestamp.Value);
    }

    [Fact]
    public void OnTheRealtimeClockTheKernelTimestampIsT2AsItIs()
    {
        NtpServerEngine engine = Engine(clock: RealtimeClock.Instance);
        using var worker = new UdpNtpServer.Worker(engine, RealtimeClock.Instance, kernelTimestamps: true, 1, NullLogger.Instance, socket: null);
        long kernel = RealtimeClock.Instance.UnixNanoseconds - 5_000_000;
        worker.Batch.SetReceived(0, Plain(1), SockAddr(0), kernel);

        Assert.Equal(1, worker.ProcessBatch(1));
        Assert.Equal(NtpParseStatus.Ok, NtpPacketHeader.TryRead(worker.Batch.SendBuffer(0), out NtpPacketHeader header));
        Assert.Equal(NtpTimestamp.FromUnixTimeNanoseconds(kernel), header.ReceiveTimestamp);
    }

    [Theory]
    [InlineData("192.0.2.7")]
    [InlineData("2001:db8::9")]
    public void SocketAddressesMapToTheEngineKeys(string text)
    {
        IPAddress address = IPAddress.Parse(text);
        byte[] sockaddr = new IPEndPoint(address, 123).Serialize().Buffer.ToArray();
        Assert.True(UdpNtpServer.TryGetAddress(sockaddr, out UInt128 key));
        Assert.Equal(ClientLog.ToMapped(address), key);
        Assert.False(UdpNtpServer.TryGetAddress([1, 0, 0, 0], out _));
    }

    // struct sockaddr_in / sockaddr_in6 as the kernel writes them: half the slots IPv4, half IPv6.
    private static byte[] SockAddr(int i) =>
        (i % 2 == 0
            ? new IPEndPoint(new IPAddress(new byte[] { 10, 1, 0, (byte)i }), 40000 + i)
            : new IPEndPoint(IPAddress.Parse($"2001:db8::{i:x}"), 40000 + i)).Serialize().Buffer.ToArray();
}
