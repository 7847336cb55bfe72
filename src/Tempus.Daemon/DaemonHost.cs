using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Control;
using Tempus.Discipline;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Selection;
using Tempus.Server;
using Tempus.Sources;
using Tempus.Sources.Network;
using Tempus.Tls;

namespace Tempus.Daemon;

/// <summary>
/// One running tempusd: the clock and its control, the synchronization engine, the sources, the NTP and NTS-KE
/// servers and the control socket. The sync engine is single-threaded: every call into it and into a source happens
/// under <see cref="_sync"/>, the lock the <see cref="SourceManager"/> also takes around its callbacks.
/// </summary>
internal sealed partial class DaemonHost : IControlHandler, IAsyncDisposable
{
    private static readonly TimeSpan s_driftSaveInterval = TimeSpan.FromHours(1);

    // chronyc clients shows the whole table; a cap keeps one control response bounded (the protocol's 1 MiB).
    private const int MaxClientsReported = 4096;

    private readonly object _sync = new();
    private readonly DaemonOptions _options;
    private readonly TempusConfiguration _config;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly IClockControl _control;
    private readonly FreeRunningClockControl? _freeRunning;
    private readonly KeyRing? _keys;

    // The key ring in service (the start-up one until a reload replaces it), and those reloads replaced: each replaced
    // ring, the start-up one too, is disposed (its secrets wiped) once no exchange can still use it, and at exit. The
    // start-up ring is the caller's, which disposes it at exit too (a second Dispose does nothing); while it is in
    // service the host leaves it alone.
    private static readonly TimeSpan s_keyRetirement = TimeSpan.FromMinutes(10);
    private readonly TimeProvider _timeProvider;
    private readonly Lock _keysLock = new();

    // One reload at a time, each whole (files read, then put in service): SIGHUP and tempusctl rekey come on threads of
    // their own, and a reload that read the files first must not put them in service after one that read them later.
    // StartServers holds it too, so a reload is wholly before the servers start (they start with what it loaded) or
    // wholly after (it reloads them). DisposeAsync takes it to set _disposed: a reload still running ends first (its
    // ring is then wiped with the others), and one that comes later (a SIGHUP handler queued as RunAsync returned)
    // loads nothing, which nothing would wipe, and touches nothing disposed.
    private readonly Lock _reloadLock = new();
    private bool _disposed;
    private readonly Dictionary<KeyRing, ITimer> _retiredKeys = new(ReferenceEqualityComparer.Instance);
    private KeyRing? _keysInService;
    private readonly CancellationTokenSource _stop = new();
    private NtsServerKeyRing? _ntsKeys;
    private NtpServerEngine? _serverEngine;
    private ClientLog? _clientLog;
    private UdpNtpServer? _server;
    private NtsKeServer? _keServer;
    private ControlServer? _controlServer;
    private Metrics.MetricsServer? _metrics;
    private readonly LogFiles? _logFiles;
    private readonly SystemdNotifier _systemd = SystemdNotifier.FromEnvironment();
    private int _exitCode;

    /// <param name="options">The command line.</param>
    /// <param name="config">The configuration.</param>
    /// <param name="keys">
    /// The symmetric keys (shared by the server and the sources), or null. They stay the caller's to dispose; once a
    /// reload replaces them, the host also wipes them, after the retirement delay or at exit.
    /// </param>
    /// <param name="loggerFactory">Where to log.</param>
    /// <param name="virtualClock">Track corrections virtually and never adjust the system clock (-x, and the one-shot modes).</param>
    /// <param name="timeProvider">Times the retirement of replaced key rings (tests advance a fake one); the system's by default.</param>
    public DaemonHost(DaemonOptions options, TempusConfiguration config, KeyRing? keys, ILoggerFactory loggerFactory, bool virtualClock, TimeProvider? timeProvider = null)
    {
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _config = config;
        _keys = keys;
        _keysInService = keys;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("tempusd");

        ISystemClock raw = RealtimeClock.Instance;
        ISystemClock controlled;
        if (virtualClock)
        {
            _freeRunning = new FreeRunningClockControl(raw, config.Discipline.MaxSlewRatePpm);
            _control = _freeRunning;
            controlled = _freeRunning.CorrectedClock;
        }
        else
        {
            _control = new LinuxClockControl(config.Discipline.MaxSlewRatePpm);
            controlled = raw;
        }

        SelectionOptions selection = config.Selection with { OwnReferenceIds = OwnReferenceIds() };
        Engine = new SyncEngine(_control, controlled, selection, config.Discipline, config.LocalStratum)
        {
            LeapSeconds = LoadLeapSeconds(config, loggerFactory.CreateLogger<LeapSecondFile>()),
        };
        Sources = new SourceManager(config, Engine.Clock, () => Engine.Discipline.Updates, _sync, loggerFactory.CreateLogger<SourceManager>(), keys);
        Sources.SourceAdded += source => Engine.AddSource(source);
        Sources.SourceRemoved += source => Engine.RemoveSource(source);
        Sources.SourceUpdated += OnSourceUpdated;
        if (config.LogDirectory is { } logDirectory && config.LogKinds.Count > 0)
        {
            _logFiles = new LogFiles(logDirectory, config.LogKinds, message => LogDriftError(_logger, message));
        }
    }

    public SyncEngine Engine { get; }

    public SourceManager Sources { get; }

    /// <summary>Raised (under the lock) after each clock update or selection, for the one-shot modes.</summary>
    public event Action? Updated;

    public IClockControl Control => _control;

    /// <summary>The free-running control when the clock is virtual, else null.</summary>
    public FreeRunningClockControl? FreeRunning => _freeRunning;

    /// <summary>The lock around the sync engine and the sources.</summary>
    public object SyncRoot => _sync;

    /// <summary>How long a key ring replaced by a reload stays usable before it is wiped.</summary>
    internal static TimeSpan KeyRetirementDelay => s_keyRetirement;

    /// <summary>The ring the server and the sources use now: the start-up ring until a reload replaces it.</summary>
    internal KeyRing? KeysInService
    {
        get
        {
            lock (_keysLock)
            {
                return _keysInService;
            }
        }
    }

    /// <summary>
    /// Called by a reload between reading the key file (its ring, or null without one) and putting that ring in
    /// service, with the reload lock held: tests hold a reload there to see that another one waits.
    /// </summary>
    internal Action<KeyRing?>? ReloadKeysLoaded { get; set; }

    /// <summary>Starts everything and runs until SIGTERM/SIGINT, <paramref name="timeout"/> (chronyd -t) or a maxchange
    /// give-up; returns the exit code.</summary>
    public async Task<int> RunAsync(TimeSpan? timeout)
    {
        // Registered before anything starts, so a SIGTERM during start-up stops the daemon cleanly instead of
        // arriving between the runtime's default handling and ours.
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _stop.Cancel(); });
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; _stop.Cancel(); });
        using PosixSignalRegistration sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            c.Cancel = true;
            Reload();
        });
        if (timeout is { } limit)
        {
            _stop.CancelAfter(limit);
        }

        LogStarting(_logger, _options.ConfigPath, _control.Description);
        if (!_control.CanAdjust)
        {
            LogCannotAdjust(_logger);
            return 1;
        }

        if (Engine.Discipline.InitialDrift is { } drift)
        {
            if (drift.IsValid)
            {
                LogDriftLoaded(_logger, drift.Path, drift.ClockFrequencyPpm);
            }
            else if (drift.Error is not null)
            {
                LogDriftError(_logger, drift.Error);
            }
        }

        foreach (ConfigError warning in _config.Warnings)
        {
            LogConfigWarning(_logger, warning.ToString());
        }

        if (_systemd.Problem is { } notifyProblem)
        {
            LogConfigWarning(_logger, notifyProblem);
        }

        if (_config.User is { } user && !string.Equals(user, Environment.UserName, StringComparison.Ordinal))
        {
            // chronyd switches to 'user' after binding its sockets. A .NET process cannot: setuid and capabilities
            // are per thread in the kernel, and the runtime's threads exist before Main. systemd does it instead.
            LogUserNotSwitched(_logger, user, Environment.UserName);
        }

        if (!StartServers())
        {
            return 1;
        }

        if (_config.CommandSocketPath is { Length: > 0 } socketPath)
        {
            try
            {
                _controlServer = new ControlServer(this, new ControlServerOptions { SocketPath = socketPath }, _loggerFactory.CreateLogger<ControlServer>());
                _controlServer.Start();
            }
            catch (ControlServerException e)
            {
                // Time service matters more than monitoring: keep running without the socket, and say why.
                LogControlSocketFailed(_logger, e.Message);
                _controlServer = null;
            }
        }

        if (_config.MetricsAddress is { } metricsAddress)
        {
            try
            {
                _metrics = await Metrics.MetricsServer.StartAsync(metricsAddress, MetricsSnapshot, _loggerFactory, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                LogFatal(_logger, e.Message);
                return 1;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // SIGTERM during start-up cancels the endpoint's start (Kestrel's bind): a stop like any other, not
                // an exception out of Main.
                await ShutdownAsync().ConfigureAwait(false);
                return _exitCode;
            }
        }

        // Type=notify: every socket is bound (a failure above has returned 1 and systemd sees the exit instead).
        _systemd.Ready(SystemdStatus());
        try
        {
            await Sources.StartAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            await ShutdownAsync().ConfigureAwait(false);
            return _exitCode;
        }

        foreach (SourceProblem problem in Sources.Problems)
        {
            LogSourceProblem(_logger, problem.Definition.Host, problem.Message);
        }

        long lastDriftSave = Environment.TickCount64;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            long ticks = 0;
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                ticks++;
                lock (_sync)
                {
                    if (Engine.ReselectNeeded)
                    {
                        Engine.Update(Engine.Clock.UnixNanoseconds);
                    }
                }

                if (ticks % 60 == 0)
                {
                    _ntsKeys?.RotateIfDue();
                }

                // The watchdog is fed from this loop, so a wedged engine (the lock never released) stops feeding it.
                _systemd.WatchdogTick(Environment.TickCount64);
                if (_systemd.Enabled && ticks % 10 == 0)
                {
                    _systemd.Status(SystemdStatus());
                }

                if (Environment.TickCount64 - lastDriftSave >= (long)s_driftSaveInterval.TotalMilliseconds)
                {
                    lastDriftSave = Environment.TickCount64;
                    SaveDrift();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        await ShutdownAsync().ConfigureAwait(false);
        return _exitCode;
    }

    /// <summary>Makes <see cref="RunAsync"/> stop and return, as SIGTERM does.</summary>
    internal void Stop() => _stop.Cancel();

    /// <summary>Starts only the sources, for the one-shot modes (-q/-Q): no server, no control socket.</summary>
    public Task StartSourcesAsync(CancellationToken cancellationToken) => Sources.StartAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        lock (_reloadLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await Sources.DisposeAsync().ConfigureAwait(false);
        if (_controlServer is not null)
        {
            await _controlServer.DisposeAsync().ConfigureAwait(false);
        }

        _keServer?.Dispose();
        _server?.Dispose();
        lock (_keysLock)
        {
            foreach ((KeyRing ring, ITimer timer) in _retiredKeys)
            {
                timer.Dispose();
                ring.Dispose();
            }

            _retiredKeys.Clear();
            if (!ReferenceEquals(_keysInService, _keys))
            {
                _keysInService?.Dispose();
            }

            _keysInService = null;
        }

        _ntsKeys?.Dispose();
        _logFiles?.Dispose();
        (_control as IDisposable)?.Dispose();
        _systemd.Dispose();
        _stop.Dispose();
    }

    private void OnSourceUpdated(NtpSource source)
    {
        // Called by the SourceManager with _sync held.
        long now = Engine.Clock.UnixNanoseconds;
        DisciplineAction? action = Engine.Update(now);
        if (action is not null)
        {
            LogClockUpdate(_logger, source.Name, Engine.Tracking.LastOffset, Engine.Tracking.FrequencyPpm);
        }

        if (_logFiles is not null)
        {
            SourceReport report = source.Report(now);
            _logFiles.Measurement(report, now);
            _logFiles.Statistics(report, now);
            if (action is not null)
            {
                _logFiles.Tracking(Engine.Tracking, now);
            }

            if (_logFiles.Logs("selection"))
            {
                foreach (NtpSource each in Sources.Sources)
                {
                    _logFiles.Selection(each.Report(now), now);
                }
            }
        }

        if (Engine.Discipline.MustExit && !_stop.IsCancellationRequested)
        {
            LogFatal(_logger, Engine.Discipline.ExitReason ?? "maxchange exceeded");
            _exitCode = 1;
            _stop.Cancel();
        }

        Updated?.Invoke();
    }

    private bool StartServers()
    {
        lock (_reloadLock)
        {
            return StartServersCore();
        }
    }

    // With the reload lock held: a SIGHUP that came first has put its keys in service (the server starts with them and
    // the ring they replaced is retired), one that comes later reloads the servers started here.
    private bool StartServersCore()
    {
        ISystemClock clock = Engine.Clock;
        if (_config.IsNtsServer)
        {
            // Loaded before the NTP server starts, so cookies issued before a restart are accepted at once.
            _ntsKeys = NtsServerKeyRing.Open(clock, _config.NtsRotateSeconds, _config.NtsDumpDirectory, _loggerFactory.CreateLogger<NtsServerKeyRing>());
        }

        if (_config.NoClientLog && _config.RateLimit is not null)
        {
            // chrony refuses this combination too: rate limiting needs the client table.
            LogFatal(_logger, "ratelimit needs the client table: remove noclientlog or ratelimit");
            return false;
        }

        _clientLog = ClientLog.FromConfiguration(_config, clock);
        lock (_keysLock)
        {
            // SIGHUP is handled from the start: a reload may have replaced the start-up ring (and retired it) already.
            _serverEngine = new NtpServerEngine(clock, _keysInService, _config.NtpAccess, _config.CryptoNak, Engine.Reference, _ntsKeys, _clientLog);
        }

        if (_config.Port != 0)
        {
            if (!_config.NtpAccess.HasAllowRules)
            {
                LogNoAllow(_logger);
            }

            try
            {
                _server = new UdpNtpServer(_serverEngine, clock, ServerEndpoints(_config, _config.Port), _loggerFactory.CreateLogger<UdpNtpServer>(), _config.ServerWorkers);
            }
            catch (SocketException e)
            {
                LogFatal(_logger, e.Message);
                return false;
            }

            _server.Start();
        }

        if (_ntsKeys is not null && _config.NtsPort != 0)
        {
            try
            {
                _keServer = new NtsKeServer(
                    new NtsKeServerOptions
                    {
                        Endpoints = ServerEndpoints(_config, _config.NtsPort).ToArray(),
                        Certificates = _config.NtsServerCertificates.Zip(_config.NtsServerKeys, (c, k) => new TlsCertificateKeyPair(c, k)).ToArray(),
                        NtpServer = _config.NtsNtpServer,
                        // RFC 8915 §4.1.7: a Port record is sent when NTP is not on 123.
                        NtpPort = _config.Port == 0 ? TempusConfiguration.DefaultNtpPort : _config.Port,
                        MaxConnections = _config.MaxNtsConnections,
                        // chrony's 0 runs NTS-KE in chronyd itself: here that is always so, with one loop.
                        EventLoops = _config.NtsProcesses is { } processes ? Math.Max(1, processes) : 0,
                    },
                    _ntsKeys,
                    _loggerFactory.CreateLogger<NtsKeServer>())
                {
                    Admission = _clientLog is null ? null : _clientLog.AdmitNtsKe,
                };
                _keServer.Start();
            }
            catch (Exception e) when (e is SocketException or TlsException or IOException)
            {
                LogNtsKeStartFailed(_logger, e.Message);
                return false;
            }
        }

        return true;
    }

    private async Task ShutdownAsync()
    {
        _systemd.Stopping();
        await Sources.StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (_keServer is not null)
        {
            await _keServer.StopAsync().ConfigureAwait(false);
        }

        if (_controlServer is not null)
        {
            await _controlServer.StopAsync().ConfigureAwait(false);
        }

        if (_metrics is not null)
        {
            await _metrics.DisposeAsync().ConfigureAwait(false);
            _metrics = null;
        }

        SaveDrift();
        if (_serverEngine is { } engine)
        {
            LogStopping(_logger, engine.Counters.Received, engine.Counters.Responded, engine.Counters.Dropped);
        }
    }

    private void SaveDrift()
    {
        lock (_sync)
        {
            if (_config.Discipline.DriftFile is not null && !Engine.Discipline.SaveDriftFile())
            {
                LogDriftError(_logger, Engine.Discipline.LastDriftFileError ?? "cannot save the drift file");
            }
        }
    }

    /// <summary>
    /// SIGHUP: re-reads the key file and trusted keys (for the server and the symmetric-key sources, which sign their
    /// next request with the new key), the NTS certificates, and (with <c>ntsrotate 0</c>) the NTS server keys. A
    /// broken file keeps what is in service and says why (file:line).
    /// </summary>
    internal void Reload()
    {
        lock (_reloadLock)
        {
            if (_disposed)
            {
                return;
            }

            _systemd.Reloading();
            try
            {
                TempusConfiguration config = ConfigParser.Load(_options.ConfigPath);
                KeyRing? keys = config.KeyFile is null ? null : Daemon.LoadKeys(config, _logger);
                ReloadKeysLoaded?.Invoke(keys);
                PutKeysInService(keys, config.KeyFile);
                LogReloaded(_logger, _options.ConfigPath);
            }
            catch (Exception e) when (e is ConfigurationException or KeyFileException)
            {
                LogReloadFailed(_logger, e.Message);
            }

            _keServer?.ReloadCertificates();
            if (_config.NtsRotateSeconds == 0)
            {
                // ntsrotate 0: the key file is managed outside (a fleet sharing it); SIGHUP picks it up.
                _ntsKeys?.Reload();
            }

            _systemd.Ready(SystemdStatus());
        }
    }

    // The ring a reload replaces stays usable for s_keyRetirement: a server worker may be in the middle of a request
    // with it, a source may still get the answer to a request it signed with it. Then it is wiped, under the lock the
    // sources check responses under (a source that still holds one of its keys then rejects the response). Called
    // with the reload lock held, one reload at a time: the server and the sources always end up with the ring in
    // service, never with one retired, which would be wiped under them.
    private void PutKeysInService(KeyRing? next, string? keyFile)
    {
        lock (_keysLock)
        {
            _serverEngine?.ReplaceKeys(next);
            Sources.ReplaceKeys(next, keyFile);
            KeyRing? previous = _keysInService;
            _keysInService = next;
            if (previous is not null)
            {
                // Listed before its timer can fire: the callback takes this lock first. A timer callback rather than
                // a Task.Delay continuation, so a fake TimeProvider wipes the ring within Advance, not some time after.
                _retiredKeys.Add(previous, _timeProvider.CreateTimer(_ => WipeRetiredKeys(previous), null, s_keyRetirement, Timeout.InfiniteTimeSpan));
            }
        }
    }

    private void WipeRetiredKeys(KeyRing ring)
    {
        lock (_keysLock)
        {
            if (!_retiredKeys.Remove(ring, out ITimer? timer))
            {
                // DisposeAsync has wiped it.
                return;
            }

            timer.Dispose();
        }

        lock (_sync)
        {
            ring.Dispose();
        }
    }

    private string SystemdStatus()
    {
        lock (_sync)
        {
            IReadOnlyList<NtpSource> sources = Sources.Sources;
            return SystemdNotifier.DescribeTracking(Engine.Discipline.Report(Engine.Clock.UnixNanoseconds), sources.Count, sources.Count(s => s.Reach != 0), _config.LocalStratum);
        }
    }

    private Metrics.MetricsSnapshot MetricsSnapshot() => new(
        GetTrackingAsync(CancellationToken.None).Result,
        GetSourcesAsync(CancellationToken.None).Result,
        GetServerStatsAsync(CancellationToken.None).Result);

    // ---- IControlHandler ----

    public Task<TrackingReport> GetTrackingAsync(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            TrackingReport report = Engine.Discipline.Report(Engine.Clock.UnixNanoseconds);
            if (_freeRunning is not null)
            {
                // -x: the system clock is never corrected, so all of the correction (applied virtually and still
                // being slewed) is how far the system clock is from the time tempusd keeps.
                report = report with { SystemTimeOffset = _freeRunning.VirtualOffsetSeconds + _freeRunning.RemainingSlewSeconds };
            }

            return Task.FromResult(report);
        }
    }

    public Task<IReadOnlyList<SourceReport>> GetSourcesAsync(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            long now = Engine.Clock.UnixNanoseconds;
            var reports = new List<SourceReport>();
            foreach (NtpSource source in Sources.Sources)
            {
                SourceReport report = source.Report(now);
                if (Sources.GetStatus(source) is { } status)
                {
                    report = report with
                    {
                        LocalAddress = status.LocalAddress.Length > 0 ? status.LocalAddress : report.LocalAddress,
                        Pool = status.Pool ?? report.Pool,
                        LastAuthenticationError = report.LastAuthenticationError.Length > 0 ? report.LastAuthenticationError : status.LastError,
                        NtsKeAttempts = status.Nts ? Math.Max(report.NtsKeAttempts, status.NtsKeFailures) : report.NtsKeAttempts,
                    };
                    if (status.SymmetricKeyProblem.Length > 0)
                    {
                        // As chronyc authdata shows a key missing from the file: type 0 and length 0; -v says why.
                        report = report with { KeyType = "", KeyBits = 0, LastAuthenticationError = status.SymmetricKeyProblem };
                    }
                }

                reports.Add(report);
            }

            return Task.FromResult<IReadOnlyList<SourceReport>>(reports);
        }
    }

    public async Task<ActivityReport> GetActivityAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<SourceReport> sources = await GetSourcesAsync(cancellationToken).ConfigureAwait(false);
        return new ActivityReport(
            sources.Count(s => s.Activity == SourceActivity.Online),
            sources.Count(s => s.Activity == SourceActivity.Offline),
            sources.Count(s => s.Activity == SourceActivity.BurstOnline),
            0,
            sources.Count(s => s.Activity == SourceActivity.UnresolvedAddress) + Sources.Problems.Count(p => !p.Permanent));
    }

    public Task<ServerStatsReport> GetServerStatsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(_serverEngine?.GetServerStats(_keServer?.Counters) ?? new ServerStatsReport());

    public Task<IReadOnlyList<ClientReport>> GetClientsAsync(ClientQuery query, CancellationToken cancellationToken) =>
        Task.FromResult(_clientLog?.Snapshot(query.NtsKe, MaxClientsReported, query.MinPackets, query.Reset) ?? []);

    public Task MakeStepAsync(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            double step = Engine.MakeStep();
            LogMakeStep(_logger, step);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// chronyc rekey re-reads the key file; Tempus does that for its server (as SIGHUP does) and also runs NTS-KE
    /// again for every NTS source.
    /// </summary>
    public Task<int> RekeyAsync(CancellationToken cancellationToken)
    {
        Reload();
        return Task.FromResult(Sources.RekeyAll());
    }

    public Task<int> ReloadSourcesAsync(CancellationToken cancellationToken)
    {
        // Checked against the running configuration as at start-up (a key that is not trusted, a certset not defined):
        // a reload accepts no source that start-up would refuse.
        IReadOnlyList<SourceDefinition> fromDirectories = ConfigParser.ReadSourceDirectories(_config.SourceDirectories, _config, out IReadOnlyList<ConfigError> errors, out IReadOnlyList<ConfigError> warnings);
        if (errors.Count > 0)
        {
            throw new ControlCommandException($"sourcedir has errors, sources unchanged: {string.Join("; ", errors)}");
        }

        foreach (ConfigError warning in warnings)
        {
            LogConfigWarning(_logger, warning.ToString());
        }

        var fixedSources = _config.Sources.Where(s => !_config.SourceDirectories.Any(d => s.FileName.StartsWith(Path.TrimEndingDirectorySeparator(d) + "/", StringComparison.Ordinal)));
        (int removed, int added) = Sources.ReplaceSources(fixedSources.Concat(fromDirectories));
        return Task.FromResult(removed + added);
    }

    public async Task DumpAsync(CancellationToken cancellationToken)
    {
        await Sources.DumpAsync(cancellationToken).ConfigureAwait(false);
        SaveDrift();
    }

    public Task<int> SetOnlineAsync(string? addressOrName, bool online, CancellationToken cancellationToken)
    {
        int switched = Sources.SetOnline(addressOrName, online);
        if (switched == 0 && addressOrName is not null)
        {
            throw new ControlCommandException(ControlErrorCodes.NoSuchSource, $"no source named or at '{addressOrName}'");
        }

        return Task.FromResult(switched);
    }

    // ---- helpers ----

    internal static IEnumerable<IPEndPoint> ServerEndpoints(TempusConfiguration config, int port)
    {
        if (config.BindAddress is null && config.BindAddress6 is null)
        {
            // Dual-mode [::] serves IPv4 and IPv6 from one socket, as chrony's default does.
            yield return new IPEndPoint(IPAddress.IPv6Any, port);
            yield break;
        }

        if (config.BindAddress is not null)
        {
            yield return new IPEndPoint(config.BindAddress, port);
        }

        if (config.BindAddress6 is not null)
        {
            yield return new IPEndPoint(config.BindAddress6, port);
        }
    }

    /// <summary>
    /// <c>leapseclist</c> (preferred) or <c>leapsectz</c>, read once now; a file that cannot be used is reported and
    /// read again later (a tzdata update may fix it), as chrony only warns about it.
    /// </summary>
    internal static LeapSecondFile? LoadLeapSeconds(TempusConfiguration config, ILogger logger)
    {
        LeapSecondFile? file = config.LeapSecondList is { } list ? LeapSecondFile.ForList(list, logger)
            : config.LeapSecondTimezone is { } zone ? LeapSecondFile.ForZone(zone, logger)
            : null;
        if (file is not null)
        {
            file.LeapAtEndOfDay(RealtimeClock.Instance.UnixNanoseconds);
        }

        return file;
    }

    /// <summary>The reference ids a server synchronized to this host would announce: our IPv4 addresses (RFC 5905 §7.3).</summary>
    private static HashSet<uint> OwnReferenceIds()
    {
        var ids = new HashSet<uint>();
        try
        {
            foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                foreach (UnicastIPAddressInformation address in nic.GetIPProperties().UnicastAddresses)
                {
                    if (address.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address.Address))
                    {
                        ids.Add(ReferenceId.FromIPv4(address.Address.GetAddressBytes()));
                    }
                }
            }
        }
        catch (NetworkInformationException)
        {
            // No interface list: loop detection falls back to none, as before it existed.
        }

        return ids;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "tempusd starting with {ConfigPath}; clock: {ClockControl}")]
    private static partial void LogStarting(ILogger logger, string configPath, string clockControl);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "tempusd stopping: {Received} requests received, {Responded} answered, {Dropped} dropped")]
    private static partial void LogStopping(ILogger logger, long received, long responded, long dropped);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "{Message}")]
    private static partial void LogFatal(ILogger logger, string message);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "no 'allow' directive: the NTP server answers nobody (add e.g. 'allow 127.0.0.0/8')")]
    private static partial void LogNoAllow(ILogger logger);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "symmetric keys and NTS certificates reloaded as configured in {ConfigPath} (SIGHUP or tempusctl rekey; other settings apply at restart)")]
    private static partial void LogReloaded(ILogger logger, string configPath);

    [LoggerMessage(EventId = 10, Level = LogLevel.Error, Message = "reload failed, keeping the keys in service: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 11, Level = LogLevel.Critical, Message = "cannot start the NTS-KE server: {Reason}")]
    private static partial void LogNtsKeStartFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Critical, Message = "cannot adjust the system clock (no CAP_SYS_TIME): run as root, or with -x to keep the clock untouched")]
    private static partial void LogCannotAdjust(ILogger logger);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "frequency {FrequencyPpm:F3} ppm read from {Path}")]
    private static partial void LogDriftLoaded(ILogger logger, string path, double frequencyPpm);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "{Error}")]
    private static partial void LogDriftError(ILogger logger, string error);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "configuration: {Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "no control socket, tempusctl cannot reach this daemon: {Reason}")]
    private static partial void LogControlSocketFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 17, Level = LogLevel.Error, Message = "source {Host}: {Message}")]
    private static partial void LogSourceProblem(ILogger logger, string host, string message);

    [LoggerMessage(EventId = 18, Level = LogLevel.Debug, Message = "clock updated from {Source}: offset {Offset:E3} s, frequency {FrequencyPpm:F3} ppm")]
    private static partial void LogClockUpdate(ILogger logger, string source, double offset, double frequencyPpm);

    [LoggerMessage(EventId = 19, Level = LogLevel.Information, Message = "makestep: clock stepped by {Step:F9} s")]
    private static partial void LogMakeStep(ILogger logger, double step);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "user {User}: tempusd does not switch users itself and runs as {Current}; run it as {User} under systemd (dist/tempusd.service: User= with AmbientCapabilities=CAP_SYS_TIME CAP_NET_BIND_SERVICE)")]
    private static partial void LogUserNotSwitched(ILogger logger, string user, string current);
}
