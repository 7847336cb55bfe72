using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Tempus.AccuracyBench;

/// <summary>The emulated path's properties, the same for every client.</summary>
/// <param name="DelayMs">Mean one-way delay, milliseconds.</param>
/// <param name="JitterMs">Standard deviation of an exponential-ish extra delay per packet, milliseconds.</param>
/// <param name="AsymmetryMs">How much longer the request leg is than the response leg, milliseconds (it shifts the
/// measured offset by half of it: a bias no client can see, so it is reported separately).</param>
/// <param name="Loss">Probability that a packet is dropped, per leg.</param>
internal sealed record PathSettings(double DelayMs, double JitterMs, double AsymmetryMs, double Loss)
{
    public override string ToString() =>
        $"delay {DelayMs} ms ±{JitterMs} ms jitter, asymmetry {AsymmetryMs} ms, loss {Loss:P1} per leg";
}

/// <summary>
/// A user-space network emulator (netem is not available here): a UDP relay on 127.0.0.1 that holds every
/// datagram for a random delay before forwarding it, and drops some. One front port per client; each client
/// address gets its own upstream socket so responses find their way back. One thread, a timer queue, bounded.
/// </summary>
internal sealed class NetworkEmulator : IDisposable
{
    private const int MaxUpstreams = 256;
    private const int MaxQueued = 10_000;

    private readonly IPEndPoint _server;
    private readonly PathSettings _path;
    private readonly Random[] _randoms;
    private readonly List<Socket> _fronts = [];
    private readonly Dictionary<(int Front, IPEndPoint Client), Socket> _upstreams = [];
    private readonly Dictionary<Socket, (Socket Front, IPEndPoint Client)> _routes = [];
    private readonly PriorityQueue<Pending, long> _queue = new();
    private readonly Thread _thread;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly long[] _lateCount = new long[2];
    private readonly long[] _lateSumTicks = new long[2];
    private readonly long[] _lateMaxTicks = new long[2];
    private volatile bool _stopping;

    public NetworkEmulator(IPEndPoint server, PathSettings path, int fronts, int seed)
    {
        _server = server;
        _path = path;
        // One generator per front, all with the same seed: every client meets the same sequence of delays and losses
        // (its n-th request and response are delayed alike), so the comparison is not decided by which client drew
        // the luckier path. With a handful of samples per minute, the draws alone move a client's mean error by
        // hundreds of microseconds.
        _randoms = [.. Enumerable.Range(0, fronts).Select(_ => new Random(seed))];
        for (int i = 0; i < fronts; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Interop.Libc.EnableReceiveTimestamps(socket.SafeHandle);
            _fronts.Add(socket);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "network emulator" };
    }

    public long Forwarded { get; private set; }

    public long Dropped { get; private set; }

    /// <summary>Every exchange the relay forwarded both ways, with the server's T2 and T3 (read after <see cref="Dispose"/>).</summary>
    public ExchangeLog Exchanges { get; } = new();

    /// <summary>
    /// How late the relay forwarded datagrams after their emulated delay ran out (mean and worst, microseconds), for
    /// requests or responses: scheduling delay of its thread, which adds to that direction's delay.
    /// </summary>
    public (double MeanMicroseconds, double MaxMicroseconds) Lateness(bool request)
    {
        int direction = request ? 0 : 1;
        double toMicros = 1e6 / Stopwatch.Frequency;
        return _lateCount[direction] == 0
            ? (double.NaN, double.NaN)
            : (_lateSumTicks[direction] * toMicros / _lateCount[direction], _lateMaxTicks[direction] * toMicros);
    }

    /// <summary>The port client <paramref name="index"/> must use as its server.</summary>
    public int FrontPort(int index) => ((IPEndPoint)_fronts[index].LocalEndPoint!).Port;

    public void Start() => _thread.Start();

    public void Dispose()
    {
        _stopping = true;
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(2));
        }

        foreach (Socket socket in _fronts.Concat(_upstreams.Values))
        {
            socket.Dispose();
        }
    }

    private long NowTicks => _clock.ElapsedTicks;

    private long DelayTicks(int front, bool request)
    {
        double ms = _path.DelayMs + (request ? _path.AsymmetryMs / 2 : -_path.AsymmetryMs / 2);
        if (_path.JitterMs > 0)
        {
            // Queueing delay is one-sided: an exponential with the jitter as its mean and standard deviation.
            ms += -_path.JitterMs * Math.Log(1 - _randoms[front].NextDouble());
        }

        return (long)(Math.Max(0, ms) * Stopwatch.Frequency / 1000);
    }

    /// <summary>0 when the emulator's thread runs SCHED_FIFO, else the errno that refused it (set once the thread runs).</summary>
    public int SchedulingError { get; private set; } = -1;

    private void Run()
    {
        SchedulingError = RealtimeScheduling.TryFifoForThisThread(10);
        byte[] buffer = new byte[2048];
        var readable = new List<Socket>();
        while (!_stopping)
        {
            SendDue();
            long waitTicks = _queue.TryPeek(out _, out long due) ? due - NowTicks : Stopwatch.Frequency / 20;
            if (waitTicks <= 0)
            {
                continue;
            }

            // poll() has millisecond resolution and a thread that spins is preempted for milliseconds on a loaded
            // machine: wait in poll() until about a millisecond before the next datagram is due, then sleep to the
            // due time on the high-resolution timer (a waking thread is scheduled promptly) and send. Datagrams that
            // arrive meanwhile keep their kernel receive timestamps, so their own delay does not change.
            long waitMicros = waitTicks * 1_000_000 / Stopwatch.Frequency;
            readable.Clear();
            readable.AddRange(_fronts);
            readable.AddRange(_routes.Keys);
            Socket.Select(readable, null, null, waitMicros >= 2000 ? (int)((waitMicros / 1000 - 1) * 1000) : 0);
            if (readable.Count == 0 && waitMicros < 2000)
            {
                long monotonicNow = Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_MONOTONIC);
                Interop.Libc.SleepUntil(Interop.Libc.CLOCK_MONOTONIC, monotonicNow + (waitTicks * 1_000_000_000 / Stopwatch.Frequency));
                continue;
            }

            foreach (Socket socket in readable)
            {
                Receive(socket, buffer);
            }
        }
    }

    private void Receive(Socket socket, byte[] buffer)
    {
        // The kernel's receive timestamp (SO_TIMESTAMPNS) is when the datagram reached this relay: the time this
        // thread takes to wake up is part of the emulated path, not something to measure the path from.
        Span<byte> address = stackalloc byte[16];
        int length = Interop.Libc.ReceiveTimestamped(socket.SafeHandle, buffer, address, out int addressLength, out long arrivedNs, out int errno);
        if (length < 0)
        {
            return; // EAGAIN, or an ICMP port unreachable from an earlier send: nothing to forward.
        }

        if (arrivedNs == 0)
        {
            arrivedNs = RealtimeNs();
        }

        long arrivedTicks = NowTicks - ((RealtimeNs() - arrivedNs) * Stopwatch.Frequency / 1_000_000_000);
        byte[] datagram = buffer.AsSpan(0, length).ToArray();
        int front = _fronts.IndexOf(socket);
        if (front >= 0)
        {
            if (addressLength < 8 || BinaryPrimitives.ReadUInt16LittleEndian(address) != (ushort)AddressFamily.InterNetwork)
            {
                return;
            }

            var client = new IPEndPoint(new IPAddress(address.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(address.Slice(2, 2)));
            if (!_upstreams.TryGetValue((front, client), out Socket? upstream))
            {
                if (_upstreams.Count >= MaxUpstreams)
                {
                    Dropped++;
                    return;
                }

                upstream = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                upstream.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                Interop.Libc.EnableReceiveTimestamps(upstream.SafeHandle);
                _upstreams[(front, client)] = upstream;
                _routes[upstream] = (socket, client);
            }

            Enqueue(new Pending(upstream, _server, datagram, front, Request: true, arrivedNs), arrivedTicks);
        }
        else if (_routes.TryGetValue(socket, out var route))
        {
            Enqueue(new Pending(route.Front, route.Client, datagram, _fronts.IndexOf(route.Front), Request: false, arrivedNs), arrivedTicks);
        }
    }

    private void Enqueue(Pending pending, long arrivedTicks)
    {
        if (_randoms[pending.Front].NextDouble() < _path.Loss || _queue.Count >= MaxQueued)
        {
            Dropped++;
            return;
        }

        _queue.Enqueue(pending, arrivedTicks + DelayTicks(pending.Front, pending.Request));
    }

    private void SendDue()
    {
        while (_queue.TryPeek(out Pending pending, out long due) && due <= NowTicks)
        {
            _queue.Dequeue();
            int direction = pending.Request ? 0 : 1;
            long late = NowTicks - due;
            _lateCount[direction]++;
            _lateSumTicks[direction] += late;
            _lateMaxTicks[direction] = Math.Max(_lateMaxTicks[direction], late);
            try
            {
                long sentNs = RealtimeNs();
                pending.Via.SendTo(pending.Datagram, pending.To);
                Forwarded++;
                Exchanges.Record(pending.Front, pending.Request, pending.Datagram, pending.ArrivedNs, sentNs);
            }
            catch (SocketException)
            {
                Dropped++;
            }
        }
    }

    private static long RealtimeNs() => Interop.Libc.ClockGetTimeNanoseconds(Interop.Libc.CLOCK_REALTIME);

    /// <param name="Via">The socket it leaves from.</param>
    /// <param name="To">Where it goes.</param>
    /// <param name="Datagram">The bytes.</param>
    /// <param name="Front">Which client's front it belongs to.</param>
    /// <param name="Request">Client to server (true) or back.</param>
    /// <param name="ArrivedNs">When the kernel received it at this relay, CLOCK_REALTIME.</param>
    private readonly record struct Pending(Socket Via, IPEndPoint To, byte[] Datagram, int Front, bool Request, long ArrivedNs);
}
