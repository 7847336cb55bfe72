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
    private readonly Random _random;
    private readonly List<Socket> _fronts = [];
    private readonly Dictionary<(int Front, IPEndPoint Client), Socket> _upstreams = [];
    private readonly Dictionary<Socket, (Socket Front, IPEndPoint Client)> _routes = [];
    private readonly PriorityQueue<Pending, long> _queue = new();
    private readonly Thread _thread;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private volatile bool _stopping;

    public NetworkEmulator(IPEndPoint server, PathSettings path, int fronts, int seed)
    {
        _server = server;
        _path = path;
        _random = new Random(seed);
        for (int i = 0; i < fronts; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _fronts.Add(socket);
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "network emulator" };
    }

    public long Forwarded { get; private set; }

    public long Dropped { get; private set; }

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

    private long DelayTicks(bool request)
    {
        double ms = _path.DelayMs + (request ? _path.AsymmetryMs / 2 : -_path.AsymmetryMs / 2);
        if (_path.JitterMs > 0)
        {
            // Queueing delay is one-sided: an exponential with the jitter as its mean and standard deviation.
            ms += -_path.JitterMs * Math.Log(1 - _random.NextDouble());
        }

        return (long)(Math.Max(0, ms) * Stopwatch.Frequency / 1000);
    }

    private void Run()
    {
        byte[] buffer = new byte[2048];
        var readable = new List<Socket>();
        while (!_stopping)
        {
            SendDue();
            long waitTicks = _queue.TryPeek(out _, out long due) ? due - NowTicks : Stopwatch.Frequency / 20;
            if (waitTicks > 0)
            {
                // poll() has millisecond resolution: wait in it for the whole milliseconds, spin the rest.
                long waitMicros = waitTicks * 1_000_000 / Stopwatch.Frequency;
                readable.Clear();
                readable.AddRange(_fronts);
                readable.AddRange(_routes.Keys);
                if (waitMicros >= 1000)
                {
                    Socket.Select(readable, null, null, (int)(waitMicros / 1000 * 1000));
                }
                else
                {
                    Socket.Select(readable, null, null, 0);
                    if (readable.Count == 0)
                    {
                        Thread.SpinWait(50);
                        continue;
                    }
                }
            }
            else
            {
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
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int length;
        try
        {
            length = socket.ReceiveFrom(buffer, ref from);
        }
        catch (SocketException)
        {
            return; // ICMP port unreachable from an earlier send, or similar: nothing to forward.
        }

        byte[] datagram = buffer.AsSpan(0, length).ToArray();
        int front = _fronts.IndexOf(socket);
        if (front >= 0)
        {
            var client = (IPEndPoint)from;
            if (!_upstreams.TryGetValue((front, client), out Socket? upstream))
            {
                if (_upstreams.Count >= MaxUpstreams)
                {
                    Dropped++;
                    return;
                }

                upstream = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                upstream.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                _upstreams[(front, client)] = upstream;
                _routes[upstream] = (socket, client);
            }

            Enqueue(upstream, _server, datagram, request: true);
        }
        else if (_routes.TryGetValue(socket, out var route))
        {
            Enqueue(route.Front, route.Client, datagram, request: false);
        }
    }

    private void Enqueue(Socket via, IPEndPoint to, byte[] datagram, bool request)
    {
        if (_random.NextDouble() < _path.Loss || _queue.Count >= MaxQueued)
        {
            Dropped++;
            return;
        }

        _queue.Enqueue(new Pending(via, to, datagram), NowTicks + DelayTicks(request));
    }

    private void SendDue()
    {
        while (_queue.TryPeek(out Pending pending, out long due) && due <= NowTicks)
        {
            _queue.Dequeue();
            try
            {
                pending.Via.SendTo(pending.Datagram, pending.To);
                Forwarded++;
            }
            catch (SocketException)
            {
                Dropped++;
            }
        }
    }

    private readonly record struct Pending(Socket Via, IPEndPoint To, byte[] Datagram);
}
