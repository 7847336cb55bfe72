using System.Net;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Discipline;
using Tempus.Selection;
using Tempus.Sources;

namespace Tempus.Simulation;

/// <summary>One clock update seen during a simulation.</summary>
/// <param name="TrueTimeNs">When, true time, Unix ns.</param>
/// <param name="Peer">The system peer that steered the clock.</param>
/// <param name="Action">What the discipline did.</param>
/// <param name="Offset">The combined offset it acted on, seconds (reference − local).</param>
/// <param name="TrueOffsetBefore">The local clock's true offset just before, seconds (true − local).</param>
public readonly record struct ClockUpdateRecord(long TrueTimeNs, string Peer, DisciplineAction Action, double Offset, double TrueOffsetBefore);

/// <summary>
/// Runs the whole client side — real <see cref="NtpSource"/> objects, <see cref="SourceSelector"/>, the
/// <see cref="ClockDiscipline"/> through a <see cref="SyncEngine"/> — against <see cref="SimulatedServer"/>s over a
/// <see cref="SimulatedNetwork"/>, on a <see cref="SimulatedClock"/> whose local clock has an initial offset and a
/// frequency error. Time jumps from event to event (polls, deliveries, timeouts), so hours of simulated time take
/// well under a second and no test sleeps. Same seed, same run.
/// </summary>
/// <remarks>
/// Sources read the cooked clock (<see cref="SyncEngine.Clock"/>), as the daemon's do. After every response and every
/// timeout the engine runs selection, and updates the clock when the system peer has a new sample. NTS sources get
/// their key exchange from the server's key ring (<see cref="SimulatedServer.IssueNtsSession"/>) whenever they need
/// one and the server is reachable (a path with loss 1 blocks NTS-KE too, retried every 64 s).
/// Not thread-safe.
/// </remarks>
public sealed class SimulationRunner : IDisposable
{
    private const long KeyExchangeRetryNs = 64L * 1_000_000_000L;
    private const long MinStepNs = 1_000;

    private readonly int _seed;
    private readonly Dictionary<string, SimulatedServer> _servers = new(StringComparer.Ordinal);
    private readonly List<Entry> _entries = [];
    private readonly List<ClockUpdateRecord> _updates = [];
    private readonly byte[] _requestBuffer = new byte[NtpSource.MinRequestBufferLength];
    private readonly byte[] _responseBuffer = new byte[2048];

    /// <summary>Creates a simulation with no servers.</summary>
    /// <param name="start">True time at the start (UTC).</param>
    /// <param name="initialOffsetSeconds">How far the local clock is ahead of true time at the start (negative = behind).</param>
    /// <param name="frequencyErrorPpm">How fast the local oscillator gains on true time, ppm.</param>
    /// <param name="selection">The selection directives (default: <see cref="SelectionOptions.Default"/>).</param>
    /// <param name="discipline">The discipline directives (default: <see cref="DisciplineOptions.Default"/>).</param>
    /// <param name="seed">Seed of the network, the sources' transmit timestamps and the clock's wander.</param>
    /// <param name="wanderPpmPerSqrtSecond">Random walk of the local oscillator's frequency (0: none).</param>
    /// <param name="localStratum"><c>local stratum</c> for <see cref="SyncEngine.Reference"/>, or null.</param>
    public SimulationRunner(
        DateTime start,
        double initialOffsetSeconds,
        double frequencyErrorPpm,
        SelectionOptions? selection = null,
        DisciplineOptions? discipline = null,
        int seed = 1,
        double wanderPpmPerSqrtSecond = 0,
        int? localStratum = null)
    {
        discipline ??= DisciplineOptions.Default;
        _seed = seed;
        Clock = new SimulatedClock(start, initialOffsetSeconds, frequencyErrorPpm, wanderPpmPerSqrtSecond, seed);
        Control = new SimulatedClockControl(Clock, discipline.MaxSlewRatePpm);
        Engine = new SyncEngine(Control, Clock, selection ?? SelectionOptions.Default, discipline, localStratum);
        Network = new SimulatedNetwork(seed);
        StartTrueNs = Clock.TrueUnixNanoseconds;
    }

    /// <summary>The local clock, with true time.</summary>
    public SimulatedClock Clock { get; }

    /// <summary>The local clock's control, as the discipline drives it.</summary>
    public SimulatedClockControl Control { get; }

    /// <summary>The engine under test.</summary>
    public SyncEngine Engine { get; }

    /// <summary>The network between the sources and the servers.</summary>
    public SimulatedNetwork Network { get; }

    /// <summary>True time at the start, Unix ns.</summary>
    public long StartTrueNs { get; }

    /// <summary>Simulated time elapsed since the start.</summary>
    public TimeSpan Elapsed => TimeSpan.FromTicks((Clock.TrueUnixNanoseconds - StartTrueNs) / 100);

    /// <summary>How far the local (system) clock is from true time now, seconds, reference − local (positive: behind).</summary>
    public double TrueOffsetSeconds => -Clock.LocalOffsetSeconds;

    /// <summary>Every clock update so far, in order.</summary>
    public IReadOnlyList<ClockUpdateRecord> Updates => _updates;

    /// <summary>Whether the discipline gave up (<c>maxchange</c>): the daemon would have exited, so the run stopped.</summary>
    public bool Exited => Engine.Discipline.MustExit;

    /// <summary>The servers, by name.</summary>
    public IReadOnlyDictionary<string, SimulatedServer> Servers => _servers;

    /// <summary>Adds a server reachable over <paramref name="path"/>.</summary>
    /// <param name="name">Its name; a source names it as its <see cref="SourceDefinition.Host"/>.</param>
    /// <param name="options">Its behaviour (default: a good stratum-1 server).</param>
    /// <param name="path">The path to it (default: <see cref="NetworkPath.Default"/>).</param>
    /// <returns>The server.</returns>
    public SimulatedServer AddServer(string name, SimulatedServerOptions? options = null, NetworkPath? path = null)
    {
        var server = new SimulatedServer(name, options ?? new SimulatedServerOptions(), () => Clock.TrueUnixNanoseconds);
        _servers.Add(name, server);
        Network.SetPath(name, path ?? NetworkPath.Default);
        return server;
    }

    /// <summary>
    /// Adds a source polling the server named by <paramref name="definition"/>'s host, authenticated as the definition
    /// says (<c>nts</c>: an <see cref="NtsAuthenticator"/> fed by simulated key exchange; <c>key</c>: the key of that
    /// id from the server's key ring).
    /// </summary>
    /// <param name="definition">The <c>server</c> line; its host is the simulated server's name.</param>
    /// <returns>The source, added to <see cref="Engine"/>.</returns>
    /// <exception cref="ArgumentException">No such server, or it lacks what the definition needs (NTS, the key).</exception>
    public NtpSource AddSource(SourceDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (!_servers.TryGetValue(definition.Host, out SimulatedServer? server))
        {
            throw new ArgumentException($"no simulated server named {definition.Host}", nameof(definition));
        }

        IRequestAuthenticator authenticator;
        NtsAuthenticator? nts = null;
        if (definition.Nts)
        {
            if (server.NtsKeys is null)
            {
                throw new ArgumentException($"simulated server {definition.Host} does not serve NTS", nameof(definition));
            }

            nts = new NtsAuthenticator();
            authenticator = nts;
        }
        else if (definition.KeyId is { } keyId)
        {
            if (server.Options.Keys is not { } keys || !keys.TryGetKey(keyId, out SymmetricKey? key))
            {
                throw new ArgumentException($"simulated server {definition.Host} has no key {keyId}", nameof(definition));
            }

            authenticator = new SymmetricKeyAuthenticator(key);
        }
        else
        {
            authenticator = new PlainAuthenticator();
        }

        int index = _entries.Count;
        var address = new IPEndPoint(new IPAddress([10, 0, (byte)(index / 250), (byte)(index % 250 + 1)]), definition.Port);
        var source = new NtpSource(definition, definition.Host, address, authenticator, Engine.Clock, new Random(unchecked(_seed * 7919 + index)));
        _entries.Add(new Entry(source, server, nts));
        Engine.AddSource(source);
        return source;
    }

    /// <summary>The source polling the server named <paramref name="name"/>.</summary>
    /// <param name="name">The server's (and source's) name.</param>
    /// <returns>The source.</returns>
    public NtpSource Source(string name) => _entries.First(e => e.Source.Name == name).Source;

    /// <summary>Runs for <paramref name="duration"/> of simulated (true) time, or until the discipline gives up.</summary>
    /// <param name="duration">How long.</param>
    public void RunFor(TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        long end = Clock.TrueUnixNanoseconds + duration.Ticks * 100;
        while (!Exited)
        {
            ProcessDueEvents();
            long now = Clock.TrueUnixNanoseconds;
            if (now >= end || Exited)
            {
                break;
            }

            long next = Math.Min(end, NextEventTrueNs(now));
            Clock.Advance(TimeSpan.FromTicks(Math.Max(next - now, MinStepNs) / 100));
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (Entry entry in _entries)
        {
            entry.Nts?.Dispose();
        }

        foreach (SimulatedServer server in _servers.Values)
        {
            server.Dispose();
        }
    }

    private void ProcessDueEvents()
    {
        long trueNow = Clock.TrueUnixNanoseconds;
        while (Network.TryReceive(trueNow, out SimulatedDatagram? datagram))
        {
            if (datagram.ToServer)
            {
                SimulatedServer server = _servers[datagram.Server];
                int length = server.Respond(datagram.Payload, _responseBuffer);
                if (length > 0)
                {
                    Network.Send(datagram.Client, datagram.Server, toServer: false, _responseBuffer.AsSpan(0, length), trueNow);
                }
            }
            else
            {
                Entry entry = _entries.First(e => e.Source.Name == datagram.Client);
                long local = Engine.Clock.UnixNanoseconds;
                entry.Source.ProcessResponse(datagram.Payload, Protocol.NtpTimestamp.FromUnixTimeNanoseconds(local), local, kernelTimestamp: true);
                UpdateEngine(local);
            }
        }

        foreach (Entry entry in _entries)
        {
            NtpSource source = entry.Source;
            long local = Engine.Clock.UnixNanoseconds;
            if (source.AwaitingResponse && local >= source.ResponseDeadlineNs)
            {
                source.OnTimeout(local);
                UpdateEngine(local);
            }

            if (entry.Nts is { NeedsKeyExchange: true } nts && !source.Stopped && trueNow >= entry.NextKeyExchangeTrueNs)
            {
                if (Network.PathTo(entry.Server.Name).LossProbability >= 1)
                {
                    nts.RecordKeyExchangeFailure($"NTS-KE to {entry.Server.Name}:4460 timed out (simulated: path loss 100%)");
                    entry.NextKeyExchangeTrueNs = trueNow + KeyExchangeRetryNs;
                }
                else
                {
                    nts.SetSession(entry.Server.IssueNtsSession());
                }
            }

            int length = source.BuildRequest(_requestBuffer, Engine.Clock.UnixNanoseconds);
            if (length > 0)
            {
                Network.Send(source.Name, entry.Server.Name, toServer: true, _requestBuffer.AsSpan(0, length), trueNow);
            }
        }
    }

    private void UpdateEngine(long localNowNs)
    {
        double before = TrueOffsetSeconds;
        DisciplineAction? action = Engine.Update(localNowNs);
        if (action is { } done)
        {
            _updates.Add(new ClockUpdateRecord(Clock.TrueUnixNanoseconds, Engine.Discipline.ReferenceName, done, Engine.Discipline.LastOffset, before));
        }
    }

    // The earliest of: the next delivery, and each source's response deadline, next poll or next NTS-KE retry (local
    // times converted at the current rate; arriving a little early only costs another short step).
    private long NextEventTrueNs(long trueNow)
    {
        long next = Network.NextDeliveryTrueNs ?? long.MaxValue;
        long local = Engine.Clock.UnixNanoseconds;
        foreach (Entry entry in _entries)
        {
            NtpSource source = entry.Source;
            if (source.Stopped)
            {
                continue;
            }

            long dueLocal = source.AwaitingResponse ? source.ResponseDeadlineNs : source.NextPollNs;
            long dueTrue = trueNow + Math.Max(dueLocal - local, 0);
            if (entry.Nts is { NeedsKeyExchange: true })
            {
                dueTrue = Math.Max(dueTrue, entry.NextKeyExchangeTrueNs);
            }

            next = Math.Min(next, dueTrue);
        }

        return Math.Max(next, trueNow + MinStepNs);
    }

    private sealed class Entry(NtpSource source, SimulatedServer server, NtsAuthenticator? nts)
    {
        public NtpSource Source { get; } = source;

        public SimulatedServer Server { get; } = server;

        public NtsAuthenticator? Nts { get; } = nts;

        public long NextKeyExchangeTrueNs { get; set; }
    }
}
