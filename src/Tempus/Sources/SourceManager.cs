using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Sources.Network;

namespace Tempus.Sources;

/// <summary>
/// Drives the configured <c>server</c> and <c>pool</c> sources over the real network (issue 4): resolves names with
/// retries, runs NTS-KE with the source's certificate set, opens one connected UDP socket per source with kernel
/// receive timestamps, and polls each <see cref="NtpSource"/> on its schedule. Every call into an
/// <see cref="NtpSource"/> and every event is made while holding the lock object the daemon passes in, so the
/// synchronization engine sees a single-threaded world.
/// </summary>
/// <remarks>
/// <para>
/// Names: a <c>server</c> uses the first address its name resolves to, a <c>pool</c> up to <c>maxsources</c> distinct
/// addresses. A failed lookup is retried on the schedule of <see cref="SourceResolver"/>: doubling from 2 s up to the
/// minpoll interval for eight retries, then every maxpoll interval (64 s to 1 h), for ever.
/// </para>
/// <para>
/// Pool members: a member whose reachability register is 0 after at least 8 requests (8 unanswered polls in a row),
/// or that a DENY/RSTR kiss-o'-death stopped, is removed (<see cref="SourceRemoved"/>) and the pool's name resolved
/// again for an address that is neither in use nor one just replaced (<see cref="SourceAdded"/>). When a lookup offers
/// no such address the pool tries again after the slow interval, and may then reuse a replaced one. A <c>server</c>
/// unanswered for 8 polls has its name resolved again and moves to the new first address if it changed.
/// </para>
/// <para>
/// NTS: NTS-KE trusts the CA files of the source's <c>certset</c> (<c>ntstrustedcerts</c>, set 0 by default) and the
/// system store unless <c>nosystemcert</c>; with <c>nocerttimecheck N</c> the certificate dates are not checked while
/// the clock has been updated fewer than N times, and a session obtained that way is replaced by a checked key
/// exchange once it has; until that succeeds the source sends nothing, and if it fails the samples obtained without
/// the check are dropped (<see cref="NtpSource.Reset"/>). NTP goes to the NTS-KE Server/Port records' address. Failed exchanges back off per RFC 8915
/// §4.2 (10 s × 1.5ⁿ, at most 5 days), reset only once a response authenticated with the new keys; a key exchange
/// whose cookies were all rejected counts as failed. A new exchange runs when cookies run out, after an NTS NAK, after
/// <c>ntsrefresh</c>, or on <see cref="RekeyAll"/>; a source keeps polling with its current session while a refresh
/// fails. Sessions are loaded from <c>ntsdumpdir</c> at start (no NTS-KE after a restart) and saved there after each
/// key exchange, on <see cref="DumpAsync"/> and on <see cref="StopAsync"/>.
/// </para>
/// <para>
/// Symmetric keys: a <c>key</c> that is not in the key file, or not trusted (<c>trustedkey</c>), keeps the line from
/// starting; the error is logged and kept in <see cref="Problems"/>. After the key file is reloaded
/// (<see cref="ReplaceKeys"/>, on <c>tempusctl rekey</c> and SIGHUP) each symmetric-key source looks its key id up in
/// the new ring and signs its next request with that key; a response to a request sent before is checked with the key
/// that request was signed with. A source whose key id is gone from the file (or no longer trusted) sends nothing,
/// never an unauthenticated request: each due poll is a missed one, so it becomes unreachable; a warning names the
/// key id and the file, and <see cref="GetStatus"/> carries it (<c>authdata -v</c>). A line kept from starting by its
/// key starts once a reload brings the key.
/// </para>
/// </remarks>
/// <example>
/// How the daemon wires it to its synchronization engine (every callback already holds <c>sync</c>):
/// <code>
/// var sync = new object();
/// var manager = new SourceManager(config, engine.Clock, () => engine.Tracking.Updates, sync, logger);
/// manager.SourceAdded += source => engine.AddSource(source);
/// manager.SourceRemoved += source => engine.RemoveSource(source);
/// manager.SourceUpdated += source => engine.Update(engine.Clock.UnixNanoseconds);
/// await manager.StartAsync(stoppingToken);
/// // views: lock (sync) { source.Report(now) }, manager.GetStatus(source), manager.Problems
/// // verbs: SetOnline(name, bool), RekeyAll(), ReplaceSources(lines), DumpAsync(ct); at exit StopAsync(ct)
/// </code>
/// </example>
public sealed partial class SourceManager : IAsyncDisposable
{
    private const int UnreachablePolls = 8;

    private static readonly TimeSpan s_unexpectedFailurePause = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_nothingSentPause = TimeSpan.FromMilliseconds(250);

    private readonly TempusConfiguration _configuration;
    private readonly ISystemClock _clock;
    private readonly Func<long> _clockUpdates;
    private readonly object _syncRoot;
    private readonly ILogger _logger;
    private KeyRing? _keys;
    private KeyRing? _ownedKeys;
    private bool _keysLoaded;
    private string? _keyFile;
    private string? _keyFileError;
    private readonly NtsSessionStore? _store;
    private readonly NtsKeClient _keClient;
    private readonly List<Entry> _entries = [];
    private readonly List<SourceProblem> _problems = [];
    private readonly Dictionary<NtpSource, Slot> _slots = new(ReferenceEqualityComparer.Instance);
    private readonly CancellationTokenSource _stop = new();
    private bool _started;
    private bool _stopped;

    /// <summary>Creates the manager; nothing is resolved or sent until <see cref="StartAsync"/>.</summary>
    /// <param name="configuration">Sources, key file and trusted keys, and the NTS client settings.</param>
    /// <param name="clock">The local (cooked) clock: T1, T4, scheduling, NTS session ages.</param>
    /// <param name="clockUpdates">How many times the clock has been updated so far (for <c>nocerttimecheck N</c>).</param>
    /// <param name="syncRoot">The lock held around every call into a source and every event.</param>
    /// <param name="logger">Where resolution, NTS-KE and pool changes are logged.</param>
    /// <param name="keys">
    /// The key ring of <c>keyfile</c> with <c>trustedkey</c> applied, which must stay intact until the manager stops or
    /// a <see cref="ReplaceKeys"/> has taken its place (disposing a ring wipes its keys, which the sources sign with;
    /// a source answered under a wiped key rejects the answer); when null the manager loads its own from the
    /// configuration the first time a symmetric-key source needs it, and disposes it with itself.
    /// </param>
    public SourceManager(TempusConfiguration configuration, ISystemClock clock, Func<long> clockUpdates, object syncRoot, ILogger? logger = null, KeyRing? keys = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(clockUpdates);
        ArgumentNullException.ThrowIfNull(syncRoot);
        _configuration = configuration;
        _clock = clock;
        _clockUpdates = clockUpdates;
        _syncRoot = syncRoot;
        _logger = logger ?? NullLogger.Instance;
        _keClient = new NtsKeClient(_logger, clock);
        _store = configuration.NtsDumpDirectory is { Length: > 0 } dir ? new NtsSessionStore(dir) : null;
        _keys = keys;
        _keysLoaded = keys is not null;
        _keyFile = configuration.KeyFile;
    }

    /// <summary>Raised (under the lock) after each response that gave a sample: the daemon runs its synchronization engine.</summary>
    public event Action<NtpSource>? SourceUpdated;

    /// <summary>Raised (under the lock) when a source is created: a <c>server</c> line, or a pool member.</summary>
    public event Action<NtpSource>? SourceAdded;

    /// <summary>Raised (under the lock) when a source is removed: a replaced pool member, or a line gone after a reload.</summary>
    public event Action<NtpSource>? SourceRemoved;

    /// <summary>Initial wait before retrying a failed name lookup (doubles for <see cref="SourceResolver.FastRetries"/> retries).</summary>
    internal TimeSpan ResolveRetryInitialDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Makes the RFC 8915 §4.2 backoff of each NTS source (tests shorten it).</summary>
    internal Func<NtsKeBackoff> BackoffFactory { get; init; } = static () => new NtsKeBackoff();

    /// <summary>The current sources, pool members included (a snapshot).</summary>
    public IReadOnlyList<NtpSource> Sources
    {
        get
        {
            lock (_syncRoot)
            {
                return _entries.SelectMany(e => e.Members).Select(s => s.Source).ToArray();
            }
        }
    }

    /// <summary>
    /// Lines without a running source: permanent ones (a key that is missing or untrusted) and pools whose name does
    /// not resolve yet (with the lookup's error).
    /// </summary>
    public IReadOnlyList<SourceProblem> Problems
    {
        get
        {
            lock (_syncRoot)
            {
                var problems = new List<SourceProblem>(_problems);
                foreach (Entry entry in _entries)
                {
                    if (entry.Definition.Kind == SourceKind.Pool && entry.Members.Count == 0 && entry.LastError is { } error)
                    {
                        problems.Add(new SourceProblem(entry.Definition, error, Permanent: false));
                    }
                }

                return problems;
            }
        }
    }

    /// <summary>Creates the configured sources (raising <see cref="SourceAdded"/>) and starts polling them.</summary>
    /// <param name="cancellationToken">Not used for the start itself, which does not wait; present for the hosting contract.</param>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        lock (_syncRoot)
        {
            if (_started)
            {
                return Task.CompletedTask;
            }

            _started = true;
            foreach (SourceDefinition definition in _configuration.Sources)
            {
                AddLocked(definition);
            }

            foreach (Entry entry in _entries)
            {
                StartLocked(entry);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops every poll loop, waits for them (up to <paramref name="cancellationToken"/>), closes the sockets and saves
    /// the NTS sessions under <c>ntsdumpdir</c>. The sources stay in <see cref="Sources"/> for a last look.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting for the loops.</param>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] loops;
        lock (_syncRoot)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            loops = _entries.SelectMany(e => e.Members.Select(m => m.Loop).Append(e.PoolLoop)).OfType<Task>().ToArray();
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(loops).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DumpAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Adds sources (<c>tempusctl add server</c>, <c>reload sources</c>); a line for a host already configured is skipped.</summary>
    /// <param name="definitions">The new lines.</param>
    /// <returns>How many lines were added.</returns>
    public int AddSources(IEnumerable<SourceDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        int added = 0;
        lock (_syncRoot)
        {
            foreach (SourceDefinition definition in definitions)
            {
                if (AddLocked(definition) is { } entry)
                {
                    added++;
                    if (_started && !_stopped)
                    {
                        StartLocked(entry);
                    }
                }
            }
        }

        return added;
    }

    /// <summary>
    /// Makes the configured lines <paramref name="definitions"/> (<c>reload sources</c>): lines no longer present are
    /// removed with their sources, new ones added; unchanged lines (file and line number aside) keep their state.
    /// </summary>
    /// <param name="definitions">The complete new set of lines.</param>
    /// <returns>How many lines were removed and added.</returns>
    public (int Removed, int Added) ReplaceSources(IEnumerable<SourceDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        List<SourceDefinition> wanted = definitions.ToList();
        var wantedKeys = wanted.Select(Normalize).ToHashSet();
        int removed = 0;
        lock (_syncRoot)
        {
            foreach (Entry entry in _entries.ToArray())
            {
                if (!wantedKeys.Contains(Normalize(entry.Definition)))
                {
                    RemoveEntryLocked(entry);
                    removed++;
                }
            }

            _problems.RemoveAll(p => !wantedKeys.Contains(Normalize(p.Definition)));
            var present = _entries.Select(e => Normalize(e.Definition)).Concat(_problems.Select(p => Normalize(p.Definition))).ToHashSet();
            return (removed, AddSources(wanted.Where(d => !present.Contains(Normalize(d)))));
        }
    }

    /// <summary>
    /// Takes sources on or off line (<c>tempusctl online/offline</c>). <paramref name="name"/> matches a source's name,
    /// its address, or the host of its line (all members of a pool); null means every source.
    /// </summary>
    /// <param name="name">Which sources, or null for all.</param>
    /// <param name="online">Poll them (true) or not.</param>
    /// <returns>How many sources matched.</returns>
    public int SetOnline(string? name, bool online)
    {
        int count = 0;
        lock (_syncRoot)
        {
            foreach (Entry entry in _entries)
            {
                bool entryMatches = name is null || string.Equals(entry.Definition.Host, name, StringComparison.OrdinalIgnoreCase);
                if (entryMatches)
                {
                    entry.Online = online;
                }

                foreach (Slot slot in entry.Members)
                {
                    if (entryMatches || string.Equals(slot.Source.Name, name, StringComparison.OrdinalIgnoreCase)
                        || (slot.Source.Address is { } address && address.Address.ToString() == name))
                    {
                        slot.Source.IsOnline = online;
                        slot.Signal();
                        count++;
                    }
                }
            }
        }

        return count;
    }

    /// <summary>Asks every NTS source for a fresh NTS-KE before its next poll (<c>tempusctl rekey</c>).</summary>
    /// <returns>How many NTS sources will re-key.</returns>
    public int RekeyAll()
    {
        int count = 0;
        lock (_syncRoot)
        {
            foreach (Slot slot in _slots.Values)
            {
                if (slot.Nts is { } nts)
                {
                    nts.RequestRekey();
                    slot.Signal();
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>
    /// Makes the symmetric-key sources use a reloaded key file (<c>tempusctl rekey</c>, SIGHUP): each resolves its key
    /// id in <paramref name="keys"/> and signs its next request with that key (a response to a request already sent is
    /// still checked with the key it was signed with). A source whose key id is not in the ring, or not trusted, stops
    /// sending until a later reload brings it back, with a warning that names the id and <paramref name="keyFile"/>;
    /// a line that could not start for want of its key starts if the ring now has it. Call it only after the file
    /// loaded without error: a broken file should leave the keys in service alone.
    /// </summary>
    /// <param name="keys">
    /// The reloaded ring with <c>trustedkey</c> applied, which must stay intact until the manager stops or a later
    /// call replaces it, and a while after that for answers to requests already signed with it (tempusd wipes a
    /// replaced ring 10 minutes later, under the lock the sources check answers under); null when the
    /// configuration no longer names a key file.
    /// </param>
    /// <param name="keyFile">The file the ring was loaded from, for the messages; null with <paramref name="keys"/>.</param>
    /// <returns>How many symmetric-key sources have a key to sign with now.</returns>
    public int ReplaceKeys(KeyRing? keys, string? keyFile)
    {
        int signing = 0;
        lock (_syncRoot)
        {
            _keys = keys;
            _keysLoaded = true;
            _keyFile = keyFile;
            _keyFileError = null;
            foreach (Entry entry in _entries)
            {
                if (entry.Definition.Nts || entry.Definition.KeyId is not uint id)
                {
                    continue;
                }

                string? problem = KeyProblem(entry.Definition, id, out SymmetricKey? key);
                if (key is not null)
                {
                    entry.Key = key;
                }

                entry.KeyProblem = problem is null ? null : $"{problem}; it sends nothing until the key is back (then tempusctl rekey)";
                foreach (Slot slot in entry.Members)
                {
                    var authenticator = (SymmetricKeyAuthenticator)slot.Source.Authenticator;
                    bool wasMissing = authenticator.IsKeyMissing;
                    if (key is not null)
                    {
                        authenticator.ReplaceKey(key);
                        signing++;
                        if (wasMissing)
                        {
                            LogKeyRestored(_logger, slot.Source.Name, id, keyFile ?? "");
                            slot.Signal();
                        }
                    }
                    else
                    {
                        authenticator.RemoveKey(entry.KeyProblem!);
                        LogKeyWithdrawn(_logger, slot.Source.Name, entry.KeyProblem!);
                    }
                }
            }

            // Lines that never started for want of their key get another chance with the new file.
            SourceProblem[] retry = _problems
                .Where(p => p.Definition is { Nts: false, KeyId: not null } && !IsConfiguredLocked(p.Definition))
                .ToArray();
            foreach (SourceProblem problem in retry)
            {
                _problems.Remove(problem);
            }

            foreach (SourceProblem problem in retry)
            {
                if (AddLocked(problem.Definition) is { } entry)
                {
                    signing += entry.Members.Count;
                    if (_started && !_stopped)
                    {
                        StartLocked(entry);
                    }
                }
            }
        }

        return signing;
    }

    /// <summary>Saves the current NTS sessions (keys and unused cookies) under <c>ntsdumpdir</c> now.</summary>
    /// <param name="cancellationToken">Stops before the next file.</param>
    /// <returns>How many sessions were saved (0 without <c>ntsdumpdir</c>).</returns>
    public async Task<int> DumpAsync(CancellationToken cancellationToken)
    {
        if (_store is null)
        {
            return 0;
        }

        var work = new List<(Slot Slot, NtsSession Session)>();
        lock (_syncRoot)
        {
            foreach (Slot slot in _slots.Values)
            {
                if (slot.Nts is not null && slot.NtsAuthenticator?.Session is { Cookies.Count: > 0 } session)
                {
                    work.Add((slot, Copy(session)));
                }
            }
        }

        int saved = 0;
        await Task.Run(
            () =>
            {
                foreach ((Slot slot, NtsSession session) in work)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (slot.Nts!.Save(session) is { } problem)
                    {
                        LogStoreProblem(_logger, slot.Source.Name, problem);
                    }
                    else
                    {
                        saved++;
                    }
                }
            },
            cancellationToken).ConfigureAwait(false);
        return saved;
    }

    /// <summary>What the driver knows about <paramref name="source"/> beyond its own report; null when it is not (or no longer) one of ours.</summary>
    /// <param name="source">A source from <see cref="Sources"/>.</param>
    public SourceNetworkStatus? GetStatus(NtpSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        lock (_syncRoot)
        {
            if (!_slots.TryGetValue(source, out Slot? slot))
            {
                return null;
            }

            NtsKeyExchanger? nts = slot.Nts;
            return new SourceNetworkStatus
            {
                Name = source.Name,
                Pool = slot.Entry.Definition.Kind == SourceKind.Pool ? slot.Entry.Definition.Host : null,
                Online = source.IsOnline,
                Resolved = source.Address is not null,
                ResolveFailures = slot.ResolveFailures,
                LocalAddress = slot.Socket?.Local.ToString() ?? "",
                KernelTimestamps = slot.Socket?.KernelTimestamps ?? false,
                LastError = slot.LastError ?? "",
                Nts = nts is not null,
                NtsKeServer = nts is null ? "" : $"{nts.KeHost}:{nts.KePort}",
                NtsKeyExchanges = nts?.KeyExchanges ?? 0,
                NtsKeFailures = nts?.Backoff.Failures ?? 0,
                NtsNextAttempt = nts?.Backoff.NextAttemptTime,
                NtsSessionEstablishedUnixNs = slot.NtsAuthenticator?.SessionEstablishedUnixNs ?? 0,
                NtsSessionFromStore = nts?.SessionFromStore ?? false,
                NtsCertificateTimeCheckSkipped = nts?.SessionTimeCheckSkipped ?? false,
                SymmetricKeyProblem = (source.Authenticator as SymmetricKeyAuthenticator)?.KeyProblem ?? "",
            };
        }
    }

    /// <summary>Stops everything (as <see cref="StopAsync"/>) and releases the key ring it loaded.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stop.Dispose();
        _ownedKeys?.Dispose();
    }

    private static SourceDefinition Normalize(SourceDefinition definition) => definition with { FileName = "", Line = 0 };

    private static NtsSession Copy(NtsSession session) => new NtsSession
    {
        KeServer = session.KeServer,
        KePort = session.KePort,
        NtpServer = session.NtpServer,
        NtpPort = session.NtpPort,
        Algorithm = session.Algorithm,
        C2SKey = session.C2SKey,
        S2CKey = session.S2CKey,
        EstablishedUnixNanoseconds = session.EstablishedUnixNanoseconds,
    }.WithCookies(session.Cookies.ToArray());

    private static string Where(SourceDefinition definition) =>
        definition.FileName.Length > 0 ? $"{definition.FileName}:{definition.Line}: " : "";

    // ---- creating and removing (all under _syncRoot) ----

    private Entry? AddLocked(SourceDefinition definition)
    {
        string kind = definition.Kind == SourceKind.Pool ? "pool" : "server";
        if (IsConfiguredLocked(definition))
        {
            Problem(definition, $"{Where(definition)}{kind} {definition.Host} is already configured: this line is ignored");
            return null;
        }

        SymmetricKey? key = null;
        if (!definition.Nts && definition.KeyId is uint id)
        {
            LoadKeysOnce();
            string? error = KeyProblem(definition, id, out key);
            if (error is not null)
            {
                Problem(definition, error);
                return null;
            }
        }

        var entry = new Entry(definition, key, CancellationTokenSource.CreateLinkedTokenSource(_stop.Token));
        _entries.Add(entry);
        if (definition.Kind == SourceKind.Server)
        {
            AddSlotLocked(entry, definition.Host, null);
        }

        return entry;
    }

    private bool IsConfiguredLocked(SourceDefinition definition) =>
        _entries.Any(e => e.Definition.Kind == definition.Kind && e.Definition.Port == definition.Port
            && string.Equals(e.Definition.Host, definition.Host, StringComparison.OrdinalIgnoreCase));

    /// <summary>Looks up the key of a symmetric-key line; returns why it cannot be used, or null with the key.</summary>
    private string? KeyProblem(SourceDefinition definition, uint id, out SymmetricKey? key)
    {
        key = null;
        string kind = definition.Kind == SourceKind.Pool ? "pool" : "server";
        return _keys is null
            ? _keyFileError is null
                ? $"{Where(definition)}{kind} {definition.Host} uses key {id}, but no keyfile is configured: add 'keyfile PATH' or remove 'key {id}'"
                : $"{Where(definition)}{kind} {definition.Host} uses key {id}, but the key file cannot be loaded: {_keyFileError}"
            : _keys.TryGetKey(id, out key) ? null
            : _keys.Keys.Any(k => k.Id == id)
                ? $"{Where(definition)}{kind} {definition.Host} uses key {id}, which is not trusted: add it to 'trustedkey'"
                : $"{Where(definition)}{kind} {definition.Host} uses key {id}, which is not in the key file {_keyFile}: add it there (tempusctl keygen {id}) or fix the id";
    }

    /// <summary>Loads <c>keyfile</c> with <c>trustedkey</c> the first time a symmetric-key source needs it (when the daemon gave no ring).</summary>
    private void LoadKeysOnce()
    {
        if (_keysLoaded || _configuration.KeyFile is not { Length: > 0 } keyFile)
        {
            return;
        }

        _keysLoaded = true;
        try
        {
            _keys = KeyRing.Load(keyFile, new List<KeyFileWarning>());
            _keys.SetTrustedKeys(_configuration.TrustedKeys);
            _ownedKeys = _keys;
        }
        catch (KeyFileException e)
        {
            _keyFileError = e.Message;
        }
    }

    private void Problem(SourceDefinition definition, string message)
    {
        _problems.Add(new SourceProblem(definition, message, Permanent: true));
        LogNotStarted(_logger, message);
    }

    private Slot AddSlotLocked(Entry entry, string name, IPAddress? memberAddress)
    {
        SourceDefinition definition = entry.Definition;
        IRequestAuthenticator authenticator;
        NtsAuthenticator? ntsAuthenticator = null;
        NtsKeyExchanger? exchanger = null;
        TimeSpan refresh = TimeSpan.FromSeconds(Math.Max(0, _configuration.NtsRefreshSeconds));
        if (definition.Nts)
        {
            ntsAuthenticator = new NtsAuthenticator(refresh);
            authenticator = ntsAuthenticator;
            exchanger = new NtsKeyExchanger(
                memberAddress?.ToString() ?? definition.Host,
                definition.NtsPort,
                definition.Host,
                definition.Port != TempusConfiguration.DefaultNtpPort ? definition.Port : null,
                NtsTrust.ForCertSet(_configuration, definition.CertSet, _clockUpdates),
                _store,
                _clock,
                _keClient,
                refresh,
                BackoffFactory());
        }
        else
        {
            if (entry.Key is { } key)
            {
                var symmetric = new SymmetricKeyAuthenticator(key);
                if (entry.KeyProblem is { } problem)
                {
                    // A pool member added while the key is withdrawn sends nothing either.
                    symmetric.RemoveKey(problem);
                }

                authenticator = symmetric;
            }
            else
            {
                authenticator = new PlainAuthenticator();
            }
        }

        IPEndPoint? address = memberAddress is not null && !definition.Nts ? new IPEndPoint(memberAddress, definition.Port) : null;
        var source = new NtpSource(definition, name, address, authenticator, _clock, null, _logger);
        source.IsOnline = entry.Online;
        var slot = new Slot(entry, source, ntsAuthenticator, exchanger, memberAddress, CancellationTokenSource.CreateLinkedTokenSource(entry.Cts.Token));
        entry.Members.Add(slot);
        _slots.Add(source, slot);
        SourceAdded?.Invoke(source);
        return slot;
    }

    private void StartLocked(Entry entry)
    {
        if (entry.Definition.Kind == SourceKind.Pool)
        {
            entry.PoolLoop ??= Task.Run(() => RunPoolAsync(entry));
        }

        foreach (Slot slot in entry.Members)
        {
            slot.Loop ??= Task.Run(() => RunSlotAsync(slot));
        }
    }

    private void RemoveSlotLocked(Slot slot)
    {
        if (!slot.Entry.Members.Remove(slot))
        {
            return;
        }

        _slots.Remove(slot.Source);
        slot.Cts.Cancel();
        SourceRemoved?.Invoke(slot.Source);
    }

    private void RemoveEntryLocked(Entry entry)
    {
        entry.Cts.Cancel();
        foreach (Slot slot in entry.Members.ToArray())
        {
            RemoveSlotLocked(slot);
        }

        _entries.Remove(entry);
    }

    // ---- one source's loop ----

    private async Task RunSlotAsync(Slot slot)
    {
        CancellationToken cancellationToken = slot.Cts.Token;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                TimeSpan wait;
                try
                {
                    wait = await StepAsync(slot, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One source's unexpected failure (a damaged saved session, a socket closed under it) must not
                    // end its polling for good: report it and start the step over after a pause.
                    SetError(slot, $"unexpected {e.GetType().Name}: {e.Message}");
                    LogLoopFailed(_logger, slot.Source.Name, e);
                    wait = s_unexpectedFailurePause;
                }

                if (wait > TimeSpan.Zero)
                {
                    await slot.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            lock (_syncRoot)
            {
                slot.Socket?.Dispose();
                slot.Socket = null;
            }
        }
    }

    /// <summary>One step of a source's life: whatever it needs next (address, NTS session, socket, a poll); returns how long to wait before the next step.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<TimeSpan> StepAsync(Slot slot, CancellationToken cancellationToken)
    {
        NtpSource source = slot.Source;
        SourceDefinition definition = slot.Entry.Definition;
        bool online;
        lock (_syncRoot)
        {
            online = source.IsOnline;
        }

        if (!online)
        {
            return Timeout.InfiniteTimeSpan;
        }

        if (slot.Nts is { } nts)
        {
            if (await EnsureNtsSessionAsync(slot, nts, cancellationToken).ConfigureAwait(false) is { } ntsWait)
            {
                return ntsWait;
            }
        }
        else if (slot.NeedsResolve || source.Address is null)
        {
            if (await ResolveServerAsync(slot, cancellationToken).ConfigureAwait(false) is { } resolveWait)
            {
                return resolveWait;
            }
        }

        IPEndPoint? endpoint;
        long nextPoll;
        bool stopped;
        lock (_syncRoot)
        {
            endpoint = source.Address;
            nextPoll = source.NextPollNs;
            stopped = source.Stopped;
        }

        if (stopped)
        {
            if (definition.Kind == SourceKind.Pool)
            {
                ReplaceMember(slot, $"stopped: {source.StopReason}");
            }

            return Timeout.InfiniteTimeSpan;
        }

        if (endpoint is null)
        {
            return RetryDelay(slot, ++slot.ResolveFailures);
        }

        if (slot.Socket is null || !slot.Socket.Remote.Equals(endpoint))
        {
            try
            {
                var socket = SourceSocket.Open(endpoint, _clock);
                lock (_syncRoot)
                {
                    slot.Socket?.Dispose();
                    slot.Socket = socket;
                }
            }
            catch (SocketException e)
            {
                SetError(slot, $"cannot open a UDP socket to {endpoint}: {e.Message}");
                return RetryDelay(slot, ++slot.ResolveFailures);
            }
        }

        long now = _clock.UnixNanoseconds;
        if (nextPoll > now)
        {
            return TimeSpan.FromTicks(Math.Max(1, (nextPoll - now) / 100));
        }

        if (!await PollAsync(slot, slot.Socket, cancellationToken).ConfigureAwait(false))
        {
            // The source had nothing to send although it was due: never spin, look again shortly.
            return NothingSentWait(slot);
        }

        CheckReachability(slot);
        return TimeSpan.Zero;
    }

    /// <summary>One request and its response (or timeout); false when the source had nothing to send.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> PollAsync(Slot slot, SourceSocket socket, CancellationToken cancellationToken)
    {
        NtpSource source = slot.Source;
        int length;
        long deadline;
        lock (_syncRoot)
        {
            // T1 is read here, as late as possible: the send follows at once.
            length = source.BuildRequest(slot.Transmit, _clock.UnixNanoseconds);
            deadline = source.ResponseDeadlineNs;
            if (length > 0)
            {
                try
                {
                    socket.Send(slot.Transmit.AsSpan(0, length));
                    if (socket.TryTakeTransmitTimestamp(out long sentNs))
                    {
                        source.SetKernelTransmitTime(sentNs);
                    }
                }
                catch (SocketException e)
                {
                    // An ICMP error left pending by an earlier exchange, or no route: this poll is lost.
                    SetErrorLocked(slot, $"cannot send to {socket.Remote}: {e.Message}");
                    source.OnTimeout(_clock.UnixNanoseconds);
                    return true;
                }
            }
        }

        if (length == 0)
        {
            // Nothing to send (not due after all, or the authenticator cannot send).
            return false;
        }

        slot.PollsSent++;
        CancellationTokenSource timeout = slot.RentTimeout(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromTicks(Math.Max(1, (deadline - _clock.UnixNanoseconds) / 100)));
        try
        {
            while (true)
            {
                ReceivedDatagram datagram = await socket.ReceiveAsync(slot.Receive, timeout.Token).ConfigureAwait(false);
                lock (_syncRoot)
                {
                    // A device that sends after the send call returned stamps the request late: its stamp may be
                    // queued only now (on loopback and most drivers it was there right after the send).
                    if (!source.AwaitingResponseHasKernelTransmitTime && socket.TryTakeTransmitTimestamp(out long sentNs))
                    {
                        source.SetKernelTransmitTime(sentNs);
                    }

                    SourceResponseOutcome outcome = source.ProcessResponse(slot.Receive.AsSpan(0, datagram.Length), datagram.T4, _clock.UnixNanoseconds, datagram.KernelTimestamp);
                    if (outcome == SourceResponseOutcome.Accepted)
                    {
                        slot.LastError = null;
                        if (slot.Nts is { } nts)
                        {
                            // RFC 8915 §4.2: the backoff resets once the exchanged keys authenticated a response.
                            nts.SessionUsed = true;
                            nts.Backoff.Reset();
                        }

                        SourceUpdated?.Invoke(source);
                    }

                    if (!source.AwaitingResponse)
                    {
                        return true;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            lock (_syncRoot)
            {
                source.OnTimeout(_clock.UnixNanoseconds);
            }
        }
        catch (SocketException e)
        {
            lock (_syncRoot)
            {
                SetErrorLocked(slot, $"{socket.Remote} is unreachable: {e.Message} (no NTP server on that port, or a firewall rejects it)");
                source.OnTimeout(_clock.UnixNanoseconds);
            }
        }
        finally
        {
            slot.ReturnTimeout();
        }

        return true;
    }

    /// <summary>How long to wait after a due poll sent nothing.</summary>
    private TimeSpan NothingSentWait(Slot slot)
    {
        lock (_syncRoot)
        {
            if (slot.Source.Authenticator is SymmetricKeyAuthenticator { IsKeyMissing: true })
            {
                // The key was withdrawn: the source recorded the missed poll and will miss one per interval. Looking
                // a quarter interval later records each in time; the reload that brings the key back wakes the loop.
                return TimeSpan.FromSeconds(Math.Max(s_nothingSentPause.TotalSeconds, Math.Pow(2, slot.Source.Poll) / 4));
            }
        }

        return s_nothingSentPause;
    }

    private void CheckReachability(Slot slot)
    {
        bool unreachable;
        lock (_syncRoot)
        {
            unreachable = slot.Source.Reach == 0 && slot.PollsSent >= UnreachablePolls;
        }

        if (!unreachable)
        {
            return;
        }

        slot.PollsSent = 0;
        if (slot.Entry.Definition.Kind == SourceKind.Pool)
        {
            ReplaceMember(slot, $"no response to {UnreachablePolls} requests");
        }
        else if (slot.Nts is null)
        {
            // A server whose name now points elsewhere (renumbered) moves to the new address.
            slot.NeedsResolve = true;
        }
    }

    private void ReplaceMember(Slot slot, string reason)
    {
        lock (_syncRoot)
        {
            if (slot.MemberAddress is { } address)
            {
                slot.Entry.Replaced.Add(address);
            }

            LogPoolMemberReplaced(_logger, slot.Entry.Definition.Host, slot.Source.Name, reason);
            RemoveSlotLocked(slot);
            slot.Entry.Signal();
        }

        slot.Nts?.DeleteSaved();
    }

    private async Task<TimeSpan?> ResolveServerAsync(Slot slot, CancellationToken cancellationToken)
    {
        SourceDefinition definition = slot.Entry.Definition;
        ResolveResult result = await SourceResolver.ResolveAsync(definition.Host, cancellationToken).ConfigureAwait(false);
        if (result.Error is { } error)
        {
            int failures = ++slot.ResolveFailures;
            TimeSpan wait = RetryDelay(slot, failures);
            SetError(slot, error);
            LogResolveFailed(_logger, slot.Source.Name, error, failures, wait.TotalSeconds);
            if (slot.NeedsResolve)
            {
                // Re-resolving a known server: keep polling the old address meanwhile.
                slot.NeedsResolve = false;
                return null;
            }

            return wait;
        }

        slot.ResolveFailures = 0;
        slot.NeedsResolve = false;
        var endpoint = new IPEndPoint(result.Addresses[0], definition.Port);
        lock (_syncRoot)
        {
            slot.LastError = null;
            IPEndPoint? old = slot.Source.Address;
            if (!endpoint.Equals(old))
            {
                slot.Source.Address = endpoint;
                slot.PollsSent = 0;
                LogResolved(_logger, slot.Source.Name, endpoint, old);
            }
        }

        return null;
    }

    private TimeSpan RetryDelay(Slot slot, int failures) =>
        SourceResolver.RetryDelay(failures, ResolveRetryInitialDelay, slot.Entry.Definition.MinPoll, slot.Entry.Definition.MaxPoll);

    private void SetError(Slot slot, string error)
    {
        lock (_syncRoot)
        {
            SetErrorLocked(slot, error);
        }
    }

    private void SetErrorLocked(Slot slot, string error)
    {
        if (slot.LastError != error)
        {
            LogSourceError(_logger, slot.Source.Name, error);
        }

        slot.LastError = error;
    }

    // ---- NTS ----

    /// <summary>Makes sure the source has a usable NTS session; returns how long to wait when it has none yet.</summary>
    private async Task<TimeSpan?> EnsureNtsSessionAsync(Slot slot, NtsKeyExchanger nts, CancellationToken cancellationToken)
    {
        NtsAuthenticator authenticator = slot.NtsAuthenticator!;
        NtsSession? session;
        bool needsExchange;
        lock (_syncRoot)
        {
            session = authenticator.Session;
            needsExchange = authenticator.NeedsKeyExchange;
        }

        string? storeProblem = null;
        NtsSession? saved = null;
        if (session is null)
        {
            saved = nts.LoadSavedOnce(out storeProblem);
        }

        if (saved is not null)
        {
            if (await InstallSessionAsync(slot, saved, cancellationToken).ConfigureAwait(false) is { } wait)
            {
                return wait;
            }

            LogSessionLoaded(_logger, slot.Source.Name, saved.Cookies.Count, _store!.Directory);
            session = saved;
            needsExchange = false;
        }
        else if (storeProblem is not null)
        {
            LogStoreProblem(_logger, slot.Source.Name, storeProblem);
        }

        if (session is not null && slot.Source.Address is null)
        {
            // The session is there but its NTP server's name did not resolve last time.
            if (await InstallSessionAsync(slot, session, cancellationToken).ConfigureAwait(false) is { } wait)
            {
                return wait;
            }
        }

        string? reason = nts.ExchangeReason(session, needsExchange);
        if (reason is null)
        {
            return null;
        }

        bool usable = nts.IsUsable(session, needsExchange);
        if (needsExchange && nts.KeyExchanges > 0 && !nts.SessionFromStore && !nts.SessionUsed && !nts.SessionFailureRecorded)
        {
            // RFC 8915 §4.2: an exchange whose cookies never authenticated a response (all rejected, or the NTP
            // server silent) counts as failed, so a server that NAKs every cookie is not asked for new ones in a loop.
            nts.SessionFailureRecorded = true;
            nts.Backoff.RecordFailure();
        }

        TimeSpan remaining = nts.Backoff.GetRemainingDelay();
        if (remaining > TimeSpan.Zero)
        {
            return usable ? null : remaining;
        }

        LogKeyExchangeStarting(_logger, slot.Source.Name, nts.KeHost, nts.KePort, reason);
        NtsSession? fresh = await nts.ExchangeAsync(cancellationToken).ConfigureAwait(false);
        if (fresh is null)
        {
            string error = nts.LastError ?? "NTS-KE failed";
            TimeSpan next = nts.Backoff.GetRemainingDelay();
            bool discarded = false;
            lock (_syncRoot)
            {
                authenticator.RecordKeyExchangeFailure(error);
                slot.LastError = error;

                // Issue 3: the samples came through a certificate accepted without its dates, and with the dates
                // checked the server can no longer prove who it is. They are dropped, so that selection stops using
                // a server that may be an impostor with an expired certificate.
                if (nts.SessionTimeCheckSkipped && !usable && (slot.Source.SamplesAccepted > 0 || slot.Source.Reach != 0))
                {
                    slot.Source.Reset();
                    discarded = true;
                }
            }

            LogKeyExchangeFailed(_logger, slot.Source.Name, nts.Backoff.Failures, error, next.TotalSeconds);
            if (discarded)
            {
                LogUncheckedSamplesDropped(_logger, slot.Source.Name);
            }

            return usable ? null : next;
        }

        if (await InstallSessionAsync(slot, fresh, cancellationToken).ConfigureAwait(false) is { } resolveWait)
        {
            return resolveWait;
        }

        LogKeyExchanged(_logger, slot.Source.Name, fresh.Cookies.Count, fresh.NtpServer, fresh.NtpPort, nts.SessionTimeCheckSkipped);
        if (nts.Save(Copy(fresh)) is { } saveProblem)
        {
            LogStoreProblem(_logger, slot.Source.Name, saveProblem);
        }

        return null;
    }

    /// <summary>Resolves the session's NTP server (the NTS-KE Server record, or the NTS-KE host) and gives the session to the source.</summary>
    private async Task<TimeSpan?> InstallSessionAsync(Slot slot, NtsSession session, CancellationToken cancellationToken)
    {
        ResolveResult result = await SourceResolver.ResolveAsync(session.NtpServer, cancellationToken).ConfigureAwait(false);
        if (result.Error is { } error)
        {
            int failures = ++slot.ResolveFailures;
            TimeSpan wait = RetryDelay(slot, failures);
            string message = $"NTP server named by NTS-KE: {error}";
            SetError(slot, message);
            LogResolveFailed(_logger, slot.Source.Name, message, failures, wait.TotalSeconds);
            lock (_syncRoot)
            {
                if (!ReferenceEquals(slot.NtsAuthenticator!.Session, session))
                {
                    slot.NtsAuthenticator.SetSession(session);
                }
            }

            return wait;
        }

        slot.ResolveFailures = 0;
        var endpoint = new IPEndPoint(result.Addresses[0], session.NtpPort);
        lock (_syncRoot)
        {
            slot.LastError = null;
            if (!ReferenceEquals(slot.NtsAuthenticator!.Session, session))
            {
                slot.NtsAuthenticator.SetSession(session);
            }

            if (!endpoint.Equals(slot.Source.Address))
            {
                slot.Source.Address = endpoint;
                slot.PollsSent = 0;
            }
        }

        return null;
    }

    // ---- pools ----

    private async Task RunPoolAsync(Entry entry)
    {
        CancellationToken cancellationToken = entry.Cts.Token;
        SourceDefinition definition = entry.Definition;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                int missing;
                lock (_syncRoot)
                {
                    missing = definition.MaxSources - entry.Members.Count;
                }

                if (missing <= 0)
                {
                    await entry.WaitAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                ResolveResult result = await SourceResolver.ResolveAsync(definition.Host, cancellationToken).ConfigureAwait(false);
                TimeSpan slow = SourceResolver.RetryDelay(SourceResolver.FastRetries + 1, ResolveRetryInitialDelay, definition.MinPoll, definition.MaxPoll);
                if (result.Error is { } error)
                {
                    int failures = ++entry.ResolveFailures;
                    TimeSpan wait = SourceResolver.RetryDelay(failures, ResolveRetryInitialDelay, definition.MinPoll, definition.MaxPoll);
                    lock (_syncRoot)
                    {
                        entry.LastError = $"{Where(definition)}pool {definition.Host}: {error}";
                    }

                    LogResolveFailed(_logger, definition.Host, error, failures, wait.TotalSeconds);
                    await entry.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                entry.ResolveFailures = 0;
                var added = new List<Slot>();
                lock (_syncRoot)
                {
                    entry.LastError = null;
                    var inUse = entry.Members.Select(m => m.MemberAddress).OfType<IPAddress>().ToHashSet();
                    IPAddress[] fresh = result.Addresses.Where(a => !inUse.Contains(a) && !entry.Replaced.Contains(a)).Take(missing).ToArray();
                    if (fresh.Length == 0)
                    {
                        // Nothing new: the replaced addresses may be tried again next time.
                        entry.Replaced.Clear();
                    }

                    foreach (IPAddress address in fresh)
                    {
                        Slot slot = AddSlotLocked(entry, address.ToString(), address);
                        LogPoolMemberAdded(_logger, definition.Host, address);
                        added.Add(slot);
                    }

                    if (!entry.Cts.IsCancellationRequested)
                    {
                        StartLocked(entry);
                    }

                    missing -= fresh.Length;
                }

                if (missing > 0)
                {
                    await entry.WaitAsync(slow, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    // ---- state ----

    /// <summary>One configured line.</summary>
    private sealed class Entry(SourceDefinition definition, SymmetricKey? key, CancellationTokenSource cts) : Waitable
    {
        public SourceDefinition Definition { get; } = definition;

        /// <summary>The symmetric key of the line (the last one it had while <see cref="KeyProblem"/> is set), or null.</summary>
        public SymmetricKey? Key { get; set; } = key;

        /// <summary>Why the line's key id is unusable since the last key-file reload, or null.</summary>
        public string? KeyProblem { get; set; }

        public CancellationTokenSource Cts { get; } = cts;

        public List<Slot> Members { get; } = [];

        public HashSet<IPAddress> Replaced { get; } = [];

        public Task? PoolLoop { get; set; }

        public bool Online { get; set; } = true;

        public int ResolveFailures { get; set; }

        public string? LastError { get; set; }
    }

    /// <summary>One running source: its socket, buffers, NTS state and loop.</summary>
    private sealed class Slot(Entry entry, NtpSource source, NtsAuthenticator? ntsAuthenticator, NtsKeyExchanger? nts, IPAddress? memberAddress, CancellationTokenSource cts) : Waitable
    {
        private CancellationTokenSource? _timeout;

        public Entry Entry { get; } = entry;

        public NtpSource Source { get; } = source;

        public NtsAuthenticator? NtsAuthenticator { get; } = ntsAuthenticator;

        public NtsKeyExchanger? Nts { get; } = nts;

        public IPAddress? MemberAddress { get; } = memberAddress;

        public CancellationTokenSource Cts { get; } = cts;

        public Task? Loop { get; set; }

        public SourceSocket? Socket { get; set; }

        public byte[] Transmit { get; } = new byte[NtpSource.MinRequestBufferLength];

        public byte[] Receive { get; } = new byte[2048];

        public int ResolveFailures { get; set; }

        public bool NeedsResolve { get; set; }

        public int PollsSent { get; set; }

        public string? LastError { get; set; }

        /// <summary>A timeout source for one poll, reused across polls unless it fired (no allocation per poll).</summary>
        public CancellationTokenSource RentTimeout(CancellationToken cancellationToken)
        {
            if (_timeout is null || !_timeout.TryReset())
            {
                _timeout?.Dispose();
                _timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            }

            return _timeout;
        }

        public void ReturnTimeout() => _timeout?.CancelAfter(Timeout.InfiniteTimeSpan);
    }

    /// <summary>A loop that sleeps until a time passes or someone wakes it (online, rekey, a pool member gone).</summary>
    private abstract class Waitable
    {
        private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _pending;

        /// <summary>Wakes the loop; a signal given while it is busy is kept, so the next wait returns at once.</summary>
        public void Signal()
        {
            Volatile.Write(ref _pending, 1);
            Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        public async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
        {
            // Read the signal before the pending flag: a Signal() between the two is seen by one or the other.
            Task signal = Volatile.Read(ref _signal).Task;
            if (Interlocked.Exchange(ref _pending, 0) == 1)
            {
                return;
            }

            // Long waits are cut into hours so a timer never overflows and a clock step is noticed.
            TimeSpan capped = delay == Timeout.InfiniteTimeSpan || delay > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : delay;
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(signal, Task.Delay(capped, delayCancel.Token)).ConfigureAwait(false);
            await delayCancel.CancelAsync().ConfigureAwait(false);

            // The step that follows every wait reads the state afresh, so a signal given from here on is not lost.
            Volatile.Write(ref _pending, 0);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    // ---- logging ----

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "{Source}: resolved to {Address} (was {Old})")]
    private static partial void LogResolved(ILogger logger, string source, IPEndPoint address, IPEndPoint? old);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "{Source}: {Error}; attempt {Attempts} failed, next in {Seconds:0.#} s")]
    private static partial void LogResolveFailed(ILogger logger, string source, string error, int attempts, double seconds);

    [LoggerMessage(EventId = 702, Level = LogLevel.Error, Message = "source not started: {Message}")]
    private static partial void LogNotStarted(ILogger logger, string message);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "{Source}: NTS-KE with {KeHost}:{KePort} ({Reason})")]
    private static partial void LogKeyExchangeStarting(ILogger logger, string source, string keHost, int kePort, string reason);

    [LoggerMessage(EventId = 704, Level = LogLevel.Information, Message = "{Source}: NTS-KE done: {Cookies} cookies, NTP at {NtpServer}:{NtpPort}, certificate time check skipped: {Skipped}")]
    private static partial void LogKeyExchanged(ILogger logger, string source, int cookies, string ntpServer, int ntpPort, bool skipped);

    [LoggerMessage(EventId = 705, Level = LogLevel.Warning, Message = "{Source}: NTS-KE failed ({Failures} since the last success): {Error}; next attempt in {Seconds:0} s (RFC 8915 §4.2 backoff)")]
    private static partial void LogKeyExchangeFailed(ILogger logger, string source, int failures, string error, double seconds);

    [LoggerMessage(EventId = 706, Level = LogLevel.Information, Message = "{Source}: NTS session with {Cookies} cookies loaded from {Directory}: no NTS-KE needed")]
    private static partial void LogSessionLoaded(ILogger logger, string source, int cookies, string directory);

    [LoggerMessage(EventId = 707, Level = LogLevel.Warning, Message = "{Source}: {Problem}")]
    private static partial void LogStoreProblem(ILogger logger, string source, string problem);

    [LoggerMessage(EventId = 708, Level = LogLevel.Information, Message = "pool {Pool}: added {Address}")]
    private static partial void LogPoolMemberAdded(ILogger logger, string pool, IPAddress address);

    [LoggerMessage(EventId = 709, Level = LogLevel.Warning, Message = "pool {Pool}: replacing {Source}: {Reason}")]
    private static partial void LogPoolMemberReplaced(ILogger logger, string pool, string source, string reason);

    [LoggerMessage(EventId = 710, Level = LogLevel.Warning, Message = "{Source}: {Error}")]
    private static partial void LogSourceError(ILogger logger, string source, string error);

    [LoggerMessage(EventId = 712, Level = LogLevel.Warning, Message = "{Source}: the server's certificate fails the time check now that the clock is set (nocerttimecheck): the samples obtained without the check are dropped")]
    private static partial void LogUncheckedSamplesDropped(ILogger logger, string source);

    [LoggerMessage(EventId = 713, Level = LogLevel.Warning, Message = "{Source}: {Problem}")]
    private static partial void LogKeyWithdrawn(ILogger logger, string source, string problem);

    [LoggerMessage(EventId = 714, Level = LogLevel.Information, Message = "{Source}: key {KeyId} is in the reloaded key file {KeyFile} again: requests are signed from the next poll")]
    private static partial void LogKeyRestored(ILogger logger, string source, uint keyId, string keyFile);

    [LoggerMessage(EventId = 711, Level = LogLevel.Error, Message = "{Source}: unexpected failure in the poll loop, retrying in 10 s")]
    private static partial void LogLoopFailed(ILogger logger, string source, Exception exception);
}
