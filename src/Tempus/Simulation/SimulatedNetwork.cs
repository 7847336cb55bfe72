namespace Tempus.Simulation;

/// <summary>
/// How datagrams between the client and one simulated server travel. Delays are one-way, in seconds of true time.
/// </summary>
public sealed record NetworkPath
{
    /// <summary>A quiet LAN-like path: 10 ms each way, 0.2 ms of jitter, symmetric, no loss.</summary>
    public static NetworkPath Default { get; } = new();

    /// <summary>The fixed part of the one-way delay, seconds.</summary>
    public double OneWayDelaySeconds { get; init; } = 0.010;

    /// <summary>The mean of an exponentially distributed extra delay drawn for each datagram, seconds (queueing).</summary>
    public double JitterSeconds { get; init; } = 0.0002;

    /// <summary>Extra delay of the client-to-server direction only, seconds: NTP cannot see it and reports half of it
    /// as offset (RFC 5905 §8), which is what the test of an asymmetric path checks.</summary>
    public double AsymmetrySeconds { get; init; }

    /// <summary>Probability that a datagram is lost, each direction, 0 to 1; 1 makes the server unreachable (NTS-KE too).</summary>
    public double LossProbability { get; init; }
}

/// <summary>One datagram in flight.</summary>
/// <param name="DeliverAtTrueNs">When it arrives, true time, Unix ns.</param>
/// <param name="Client">The client end (a source's name).</param>
/// <param name="Server">The server end.</param>
/// <param name="ToServer">Direction: true from client to server.</param>
/// <param name="Payload">The bytes.</param>
public sealed record SimulatedDatagram(long DeliverAtTrueNs, string Client, string Server, bool ToServer, byte[] Payload);

/// <summary>
/// A deterministic discrete-event network between the client and simulated servers: each datagram gets a delivery time
/// from its path's delay, jitter and asymmetry, or is lost, all drawn from one seeded generator, so the same seed and
/// the same sends give the same deliveries. Datagrams leave in time order of delivery (ties in order of sending).
/// </summary>
/// <remarks>Not thread-safe: a simulation runs on one thread.</remarks>
public sealed class SimulatedNetwork
{
    private readonly Random _random;
    private readonly Dictionary<string, NetworkPath> _paths = new(StringComparer.Ordinal);
    private readonly PriorityQueue<SimulatedDatagram, (long, long)> _inFlight = new();
    private long _sequence;

    /// <summary>Creates an empty network.</summary>
    /// <param name="seed">Seed of the delay, jitter and loss draws.</param>
    public SimulatedNetwork(int seed) => _random = new Random(seed);

    /// <summary>Datagrams sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Datagrams lost.</summary>
    public long Lost { get; private set; }

    /// <summary>Datagrams delivered.</summary>
    public long Delivered { get; private set; }

    /// <summary>When the next datagram arrives (true time, Unix ns), or null when none is in flight.</summary>
    public long? NextDeliveryTrueNs => _inFlight.TryPeek(out SimulatedDatagram? next, out _) ? next.DeliverAtTrueNs : null;

    /// <summary>Sets the path to <paramref name="server"/>; takes effect for datagrams sent from now on.</summary>
    /// <param name="server">The server's name.</param>
    /// <param name="path">The path's behaviour.</param>
    public void SetPath(string server, NetworkPath path)
    {
        ArgumentException.ThrowIfNullOrEmpty(server);
        ArgumentNullException.ThrowIfNull(path);
        if (!(path.OneWayDelaySeconds >= 0) || !(path.JitterSeconds >= 0) || !(path.AsymmetrySeconds >= 0)
            || !(path.LossProbability is >= 0 and <= 1) || !double.IsFinite(path.OneWayDelaySeconds + path.JitterSeconds + path.AsymmetrySeconds))
        {
            throw new ArgumentOutOfRangeException(nameof(path), path, "Delays must be finite and non-negative, and the loss a probability from 0 to 1.");
        }

        _paths[server] = path;
    }

    /// <summary>The path to <paramref name="server"/> (<see cref="NetworkPath.Default"/> unless set).</summary>
    /// <param name="server">The server's name.</param>
    /// <returns>The path.</returns>
    public NetworkPath PathTo(string server) => _paths.TryGetValue(server, out NetworkPath? path) ? path : NetworkPath.Default;

    /// <summary>Sends a datagram at true time <paramref name="sentTrueNs"/>; it is either lost or queued for delivery.</summary>
    /// <param name="client">The client end.</param>
    /// <param name="server">The server end (selects the path).</param>
    /// <param name="toServer">Direction: true from client to server.</param>
    /// <param name="payload">The bytes (copied).</param>
    /// <param name="sentTrueNs">When it leaves, true time, Unix ns.</param>
    /// <returns>Whether it will be delivered.</returns>
    public bool Send(string client, string server, bool toServer, ReadOnlySpan<byte> payload, long sentTrueNs)
    {
        NetworkPath path = PathTo(server);
        Sent++;

        // Draw both numbers whatever happens, so one path's loss does not shift another path's delays.
        double lossDraw = _random.NextDouble();
        double jitterDraw = _random.NextDouble();
        if (lossDraw < path.LossProbability)
        {
            Lost++;
            return false;
        }

        double delay = path.OneWayDelaySeconds + (toServer ? path.AsymmetrySeconds : 0) - path.JitterSeconds * Math.Log(1 - jitterDraw);
        long deliverAt = sentTrueNs + (long)Math.Round(delay * 1e9);
        _inFlight.Enqueue(new SimulatedDatagram(deliverAt, client, server, toServer, payload.ToArray()), (deliverAt, _sequence++));
        return true;
    }

    /// <summary>Takes the next datagram due at or before <paramref name="trueNowNs"/>.</summary>
    /// <param name="trueNowNs">Now, true time, Unix ns.</param>
    /// <param name="datagram">The datagram, when one is due.</param>
    /// <returns>Whether one was due.</returns>
    public bool TryReceive(long trueNowNs, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SimulatedDatagram? datagram)
    {
        if (_inFlight.TryPeek(out SimulatedDatagram? next, out _) && next.DeliverAtTrueNs <= trueNowNs)
        {
            datagram = _inFlight.Dequeue();
            Delivered++;
            return true;
        }

        datagram = null;
        return false;
    }
}
