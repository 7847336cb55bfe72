using System.Buffers.Binary;
using System.Numerics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tempus.Clock;
using Tempus.Native;
using Tempus.Nts;
using Tempus.Protocol;

namespace Tempus.Server;

/// <summary>
/// Serves an <see cref="NtpServerEngine"/> on UDP. For each endpoint, one or more workers (<c>serverworkers</c>),
/// each with its own socket bound to the same address and port with SO_REUSEPORT, so the kernel spreads clients over
/// them, and its own dedicated thread. A worker receives up to <see cref="BatchSize"/> datagrams with one
/// <c>recvmmsg</c>, each with its kernel receive timestamp (SO_TIMESTAMPNS) as T2 when serving the system clock,
/// answers them through the engine into native buffers allocated once, and sends every answer with one
/// <c>sendmmsg</c>: no allocation per request in steady state. A bad datagram is dropped and counted; a socket
/// error on one datagram never stops the loop.
/// </summary>
public sealed partial class UdpNtpServer : IDisposable
{
    /// <summary>Datagrams taken per <c>recvmmsg</c>.</summary>
    public const int BatchSize = 64;

    // Longer than any NTS request a client sends in practice (a few cookie placeholders); an NTS response may be as
    // long as its request (RFC 8915 §5.5), so send buffers have the same size.
    private const int BufferSize = 2048;

    /// <summary>
    /// The receive buffer each worker's socket asks for (SO_RCVBUF), bytes. The kernel default (net.core.rmem_default,
    /// usually 208 KiB) holds only about 250 requests, since each small datagram is charged its whole socket buffer
    /// (about 800 bytes); at 100,000 requests a second a worker kept off the CPU for 2.5 ms would drop the rest of the
    /// burst. 1 MiB (the kernel charges twice that, capped by net.core.rmem_max) holds about 2,500: a busy server
    /// rides out scheduling delays and client bursts instead of losing them. It is kernel memory, used only while
    /// requests wait (a DNS server such as unbound offers the same setting as so-rcvbuf).
    /// </summary>
    public const int ReceiveBufferBytes = 1 << 20;

    // How often a worker blocked in recvmmsg on an idle socket wakes up to see whether it must stop.
    private static readonly TimeSpan s_receiveTimeout = TimeSpan.FromMilliseconds(200);

    private readonly NtpServerEngine _engine;
    private readonly ISystemClock _clock;
    private readonly ILogger _logger;
    private readonly List<Worker> _workers = new();
    private readonly List<IPEndPoint> _endpoints = new();
    private int _started;

    /// <summary>Binds one socket per endpoint; throws <see cref="SocketException"/> with the endpoint in the message on failure.</summary>
    /// <param name="engine">The protocol engine.</param>
    /// <param name="clock">Clock used for receive timestamps.</param>
    /// <param name="endpoints">Local endpoints to bind; an IPv6 any-address endpoint also serves IPv4 (dual mode).</param>
    /// <param name="logger">Where to log.</param>
    public UdpNtpServer(NtpServerEngine engine, ISystemClock clock, IEnumerable<IPEndPoint> endpoints, ILogger logger)
        : this(engine, clock, endpoints, logger, workers: 1)
    {
    }

    /// <summary>Binds <paramref name="workers"/> sockets per endpoint sharing its port (SO_REUSEPORT when more than one).</summary>
    /// <param name="engine">The protocol engine, shared by every worker (it is thread-safe).</param>
    /// <param name="clock">Clock the server serves; receive timestamps come from the kernel, mapped onto it.</param>
    /// <param name="endpoints">Local endpoints to bind; an IPv6 any-address endpoint also serves IPv4 (dual mode).</param>
    /// <param name="logger">Where to log; per-packet events only at Trace.</param>
    /// <param name="workers">Workers per endpoint (<c>serverworkers</c>); 0 = one per processor.</param>
    public UdpNtpServer(NtpServerEngine engine, ISystemClock clock, IEnumerable<IPEndPoint> endpoints, ILogger logger, int workers)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(workers, 1024);
        _engine = engine;
        _clock = clock;
        _logger = logger;
        WorkersPerEndpoint = workers == 0 ? Environment.ProcessorCount : workers;
        // The kernel stamps with CLOCK_REALTIME; for any other clock (tempusd -x's corrected clock, the cooked clock
        // of the discipline) each batch maps the stamps onto it with one back-to-back reading of both.
        bool kernelTimestamps = true;
        try
        {
            foreach (IPEndPoint endpoint in endpoints)
            {
                IPEndPoint bound = endpoint;
                for (int i = 0; i < WorkersPerEndpoint; i++)
                {
                    Socket socket = Bind(bound, shared: WorkersPerEndpoint > 1);
                    var worker = new Worker(engine, clock, kernelTimestamps && Interop.Libc.EnableReceiveTimestamps(socket.SafeHandle) == 0, BatchSize, logger, socket);
                    _workers.Add(worker);
                    if (i == 0)
                    {
                        // With port 0 the kernel picked one: the other workers join that port.
                        bound = (IPEndPoint)socket.LocalEndPoint!;
                        _endpoints.Add(bound);
                    }
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The endpoints actually bound (with the real port when port 0 was asked for), one per endpoint given.</summary>
    public IReadOnlyList<IPEndPoint> LocalEndpoints => _endpoints.ToArray();

    /// <summary>Workers (sockets and threads) per endpoint.</summary>
    public int WorkersPerEndpoint { get; }

    /// <summary>Datagrams each worker has received, in order of creation (endpoint by endpoint); for monitoring and tests.</summary>
    internal IReadOnlyList<long> WorkerReceived => _workers.Select(w => w.Received).ToArray();

    /// <summary>Bytes each worker thread had allocated after its last batch; flat in steady state (tests).</summary>
    internal IReadOnlyList<long> WorkerAllocatedBytes => _workers.Select(w => w.AllocatedBytes).ToArray();

    /// <summary>Starts every worker's thread.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the NTP server is already started");
        }

        foreach (Worker worker in _workers)
        {
            worker.Start();
        }

        foreach (IPEndPoint endpoint in _endpoints)
        {
            LogListening(_logger, endpoint, WorkersPerEndpoint);
        }
    }

    /// <summary>Stops the workers, then closes the sockets and frees the buffers.</summary>
    public void Dispose()
    {
        foreach (Worker worker in _workers)
        {
            worker.RequestStop();
        }

        foreach (Worker worker in _workers)
        {
            worker.Dispose();
        }
    }

    private static Socket Bind(IPEndPoint endpoint, bool shared)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            if (shared)
            {
                // Linux lets only sockets of the same effective user share a port this way.
                socket.SetRawSocketOption(Interop.Libc.SOL_SOCKET, Interop.Libc.SO_REUSEPORT, BitConverter.GetBytes(1));
            }

            // struct timeval: recvmmsg on an idle socket returns EAGAIN after this long, so a worker sees Dispose.
            byte[] timeout = new byte[16];
            BinaryPrimitives.WriteInt64LittleEndian(timeout.AsSpan(8), (long)s_receiveTimeout.TotalMicroseconds);
            socket.SetRawSocketOption(Interop.Libc.SOL_SOCKET, Interop.Libc.SO_RCVTIMEO, timeout);

            // Only ever larger: a system tuned above this (rmem_default) keeps its own size.
            if (socket.ReceiveBufferSize < 2 * ReceiveBufferBytes)
            {
                socket.ReceiveBufferSize = ReceiveBufferBytes;
            }

            socket.Blocking = true;
            socket.Bind(endpoint);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new SocketException((int)e.SocketErrorCode, $"cannot bind NTP server to {endpoint}: {e.Message}");
        }
    }

    /// <summary>Reads the client address from a Linux <c>struct sockaddr</c> without allocating.</summary>
    internal static bool TryGetAddress(ReadOnlySpan<byte> sockaddr, out UInt128 client)
    {
        // sa_family_t is host order (little-endian on the platforms Tempus runs on): AF_INET 2, AF_INET6 10.
        if (sockaddr.Length >= 8 && sockaddr[0] == 2 && sockaddr[1] == 0)
        {
            // struct sockaddr_in: family (2), port (2), address (4)
            client = ((UInt128)0xffff << 32) | BinaryPrimitives.ReadUInt32BigEndian(sockaddr.Slice(4, 4));
            return true;
        }

        if (sockaddr.Length >= 24 && sockaddr[0] == 10 && sockaddr[1] == 0)
        {
            // struct sockaddr_in6: family (2), port (2), flowinfo (4), address (16)
            client = BinaryPrimitives.ReadUInt128BigEndian(sockaddr.Slice(8, 16));
            return true;
        }

        client = 0;
        return false;
    }

    /// <summary>
    /// One receive loop: a socket, a thread and a <see cref="DatagramBatch"/> it alone uses. <see cref="ProcessBatch"/>
    /// is the whole per-request path between the two system calls, so tests and benchmarks drive it with no socket.
    /// </summary>
    internal sealed class Worker : IDisposable
    {
        private readonly NtpServerEngine _engine;
        private readonly ISystemClock _clock;
        private readonly bool _kernelTimestamps;
        private readonly ILogger _logger;
        private readonly Socket? _socket;
        private Thread? _thread;
        private volatile bool _stopping;
        private long _received;
        private long _failures;
        private long _allocatedBytes;

        public Worker(NtpServerEngine engine, ISystemClock clock, bool kernelTimestamps, int batchSize, ILogger logger, Socket? socket)
        {
            _engine = engine;
            _clock = clock;
            _kernelTimestamps = kernelTimestamps;
            _logger = logger;
            _socket = socket;
            Batch = new DatagramBatch(batchSize, BufferSize);
        }

        public DatagramBatch Batch { get; }

        public long Received => Volatile.Read(ref _received);

        public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

        public void Start()
        {
            _thread = new Thread(Run)
            {
                IsBackground = true,
                Name = $"ntp-server {_socket!.LocalEndPoint}",
            };
            _thread.Start();
        }

        public void RequestStop()
        {
            _stopping = true;
            try
            {
                // Wakes a recvmmsg blocked on this socket at once (it returns 0); ENOTCONN on an unconnected UDP socket
                // is expected and harmless, the kernel wakes the readers all the same.
                _socket?.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            RequestStop();
            // The thread writes into the batch's native memory until it returns: free it only once it has.
            bool exited = _thread is null || _thread.Join(TimeSpan.FromSeconds(5));
            _socket?.Dispose();
            if (exited)
            {
                Batch.Dispose();
            }
        }

        /// <summary>
        /// Answers the datagrams in slots 0 to <paramref name="count"/>-1 of <see cref="Batch"/> and queues the
        /// responses for one <c>sendmmsg</c>; returns how many were queued.
        /// </summary>
        public int ProcessBatch(int count)
        {
            DatagramBatch batch = Batch;
            long toClock = 0;
            if (_kernelTimestamps && _clock is not RealtimeClock)
            {
                // The two clocks drift apart at most at the slew rate: one reading per batch is far below the network's error.
                toClock = _clock.UnixNanoseconds - RealtimeClock.Instance.UnixNanoseconds;
            }

            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> address = batch.ReceivedAddress(i);
                if (!TryGetAddress(address, out UInt128 client))
                {
                    continue;
                }

                if (batch.IsTruncated(i))
                {
                    // Longer than any request we answer; what arrived is a prefix that would only fail later.
                    _engine.Counters.CountReceived();
                    _engine.Counters.CountMalformed();
                    LogDropped(_logger, ServerOutcome.DroppedMalformed);
                    continue;
                }

                long kernelTime = _kernelTimestamps ? batch.ReceiveTimestamp(i) : 0;
                // RFC 5905 T2 from the kernel (SO_TIMESTAMPNS): taken when the datagram arrived, before any queueing or
                // scheduling delay in this process.
                NtpTimestamp receiveTime = kernelTime != 0 ? NtpTimestamp.FromUnixTimeNanoseconds(kernelTime + toClock) : _clock.NtpNow;
                int length;
                ServerOutcome outcome;
                try
                {
                    length = _engine.Process(batch.ReceivedData(i), client, receiveTime, batch.SendBuffer(i), out outcome);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A fault of ours (e.g. a key wiped under a request): one request lost, never the worker and with
                    // it the whole daemon. Logged at the 1st, 2nd, 4th, 8th... occurrence, so no request can flood the log.
                    _engine.Counters.CountFailed();
                    if (BitOperations.IsPow2(++_failures))
                    {
                        LogRequestFailed(_logger, _failures, e);
                    }

                    continue;
                }

                if (length == 0)
                {
                    LogDropped(_logger, outcome);
                    continue;
                }

                batch.QueueSend(i, length, address);
            }

            return batch.QueuedCount;
        }

        private void Run()
        {
            Socket socket = _socket!;
            DatagramBatch batch = Batch;
            int used = batch.Capacity;
            while (!_stopping)
            {
                // RFC 8915 §6: a rotated-out master key's schedule goes with it, on this thread too, whether or not
                // NTS requests still come (an idle socket wakes this loop every 200 ms). One read when nothing changed.
                NtsServerKeyRing.ReleaseErasedKeys();
                int received;
                int errno;
                try
                {
                    batch.ResetReceive(used);
                    // Blocks for the first datagram (or SO_RCVTIMEO), then takes whatever else is already queued.
                    received = batch.Receive(socket.SafeHandle, Interop.Libc.MSG_WAITFORONE, out errno);
                }
                catch (ObjectDisposedException) when (_stopping)
                {
                    return;
                }

                if (received <= 0)
                {
                    used = 0;
                    if (received < 0 && !_stopping && errno is not (Interop.Libc.EAGAIN or Interop.Libc.EINTR))
                    {
                        LogReceiveError(_logger, errno);
                    }

                    continue;
                }

                used = received;
                if (ProcessBatch(received) > 0)
                {
                    try
                    {
                        batch.SendQueued(socket.SafeHandle, out int failed, out int sendErrno);
                        if (failed > 0)
                        {
                            LogSendError(_logger, failed, sendErrno);
                        }
                    }
                    catch (ObjectDisposedException) when (_stopping)
                    {
                        return;
                    }
                }

                // Published after the batch is answered, so a reader that sees the count also sees its allocations.
                Volatile.Write(ref _allocatedBytes, GC.GetAllocatedBytesForCurrentThread());
                Interlocked.Add(ref _received, received);
            }
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "NTP server listening on {Endpoint} with {Workers} worker(s)")]
    private static partial void LogListening(ILogger logger, EndPoint endpoint, int workers);

    [LoggerMessage(EventId = 101, Level = LogLevel.Trace, Message = "NTP request dropped: {Outcome}")]
    private static partial void LogDropped(ILogger logger, ServerOutcome outcome);

    [LoggerMessage(EventId = 104, Level = LogLevel.Error, Message = "NTP request dropped: answering it failed ({Failures} on this worker so far; the server continues)")]
    private static partial void LogRequestFailed(ILogger logger, long failures, Exception exception);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "NTP socket receive error errno {Errno} (server continues)")]
    private static partial void LogReceiveError(ILogger logger, int errno);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "NTP socket: {Failed} response(s) not sent, errno {Errno} (server continues)")]
    private static partial void LogSendError(ILogger logger, int failed, int errno);
}
