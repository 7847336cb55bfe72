using Microsoft.Extensions.Logging;
using Tempus.Clock;
using Tempus.Ntp;
using Tempus.Protocol;

namespace Tempus.Nts;

/// <summary>
/// An NTS client's state for one server across queries (RFC 8915 §4.2, §5.7): the session from the last key
/// exchange, reused while it holds cookies and is younger than <c>ntsrefresh</c>; a new NTS-KE when cookies run
/// out, on an NTS NAK, or on refresh; the §4.2 backoff between failed exchanges; and the session saved under
/// <c>ntsdumpdir</c> after each use, so a restarted client needs no key exchange. Not thread-safe: one caller
/// (a source's poll loop, or one CLI run) drives it.
/// </summary>
public sealed partial class NtsAssociation
{
    private readonly string _host;
    private readonly int _kePort;
    private readonly int? _ntpPortOverride;
    private readonly NtsKeClientOptions _options;
    private readonly NtsSessionStore? _store;
    private readonly ISystemClock _clock;
    private readonly TimeSpan _refresh;
    private readonly NtsKeClient _keClient;
    private readonly NtsNtpClient _ntpClient;
    private readonly ILogger _logger;
    private bool _storeLoaded;

    /// <summary>Creates the association; nothing is sent until <see cref="QueryAsync"/>.</summary>
    /// <param name="host">The NTS-KE server.</param>
    /// <param name="kePort">The NTS-KE port.</param>
    /// <param name="options">Trust and AEAD options for NTS-KE.</param>
    /// <param name="store">Where sessions are saved, or null to keep them in memory.</param>
    /// <param name="clock">The clock for session age and NTP timestamps.</param>
    /// <param name="refresh">Age after which a new key exchange is made (<c>ntsrefresh</c>); zero never refreshes.</param>
    /// <param name="ntpPortOverride">NTP port to use when the server sends no Port record (a server not on 123).</param>
    /// <param name="logger">Where key exchanges and NAKs are logged.</param>
    public NtsAssociation(string host, int kePort, NtsKeClientOptions options, NtsSessionStore? store, ISystemClock clock, TimeSpan refresh, int? ntpPortOverride = null, ILogger? logger = null)
    {
        _host = host;
        _kePort = kePort;
        _options = options;
        _store = store;
        _clock = clock;
        _refresh = refresh;
        _ntpPortOverride = ntpPortOverride;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _keClient = new NtsKeClient(logger, clock);
        _ntpClient = new NtsNtpClient(clock);
    }

    /// <summary>The current session, or null before the first key exchange (or after a NAK).</summary>
    public NtsSession? Session { get; private set; }

    /// <summary>Key exchanges made by this association (not counting sessions loaded from the store).</summary>
    public int KeyExchanges { get; private set; }

    /// <summary>Failed key exchanges since the last success.</summary>
    public int KeyExchangeFailures => Backoff.Failures;

    /// <summary>NTS NAKs received (each one throws the session away).</summary>
    public int NaksReceived { get; private set; }

    /// <summary>Whether the current session came from the store rather than a key exchange in this process.</summary>
    public bool SessionLoadedFromStore { get; private set; }

    /// <summary>The RFC 8915 §4.2 backoff between failed key exchanges.</summary>
    public NtsKeBackoff Backoff { get; } = new();

    /// <summary>
    /// One authenticated NTS exchange, running NTS-KE first when needed. An NTS NAK throws the session away and
    /// is answered with one new key exchange and one retry, as RFC 8915 §5.7 asks.
    /// </summary>
    /// <exception cref="NtsKeException">The key exchange failed, or the backoff does not allow one yet.</exception>
    /// <exception cref="NtpQueryException">The NTP exchange failed.</exception>
    public async Task<NtpQueryResult> QueryAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        LoadFromStoreOnce();
        if (Session is null || Session.Cookies.Count == 0 || IsDueForRefresh(Session))
        {
            await KeyExchangeAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return Succeeded(await _ntpClient.QueryAsync(Session!, timeout, cancellationToken).ConfigureAwait(false));
        }
        catch (NtpQueryException e) when (e.Error is NtpQueryError.NtsNak or NtpQueryError.NtsNoCookies)
        {
            NaksReceived += e.Error == NtpQueryError.NtsNak ? 1 : 0;
            LogSessionDropped(_logger, _host, _kePort, e.Message);
            Discard();
            await KeyExchangeAsync(cancellationToken).ConfigureAwait(false);
            return Succeeded(await _ntpClient.QueryAsync(Session!, timeout, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            Save();
        }
    }

    private NtpQueryResult Succeeded(NtpQueryResult result)
    {
        // RFC 8915 §4.2: the backoff resets only once the exchanged keys have authenticated a response.
        Backoff.Reset();
        return result;
    }

    private bool IsDueForRefresh(NtsSession session) =>
        _refresh > TimeSpan.Zero && _clock.UnixNanoseconds - session.EstablishedUnixNanoseconds > (long)_refresh.TotalNanoseconds;

    private async Task KeyExchangeAsync(CancellationToken cancellationToken)
    {
        if (!Backoff.IsAttemptAllowed)
        {
            throw new NtsKeException(
                NtsKeFailureReason.ConnectionFailed,
                $"{_host}:{_kePort}",
                $"NTS-KE to {_host}:{_kePort} is backing off after {Backoff.Failures} failures (RFC 8915 §4.2): next attempt in {Backoff.GetRemainingDelay().TotalSeconds:0} s");
        }

        NtsSession session;
        try
        {
            session = await _keClient.ExchangeAsync(_host, _kePort, _options, cancellationToken).ConfigureAwait(false);
        }
        catch (NtsKeException)
        {
            Backoff.RecordFailure();
            throw;
        }

        KeyExchanges++;
        SessionLoadedFromStore = false;
        Session = _ntpPortOverride is int port && session.NtpPort == NtsKeResponse.DefaultNtpPort
            ? new NtsSession
            {
                KeServer = session.KeServer,
                KePort = session.KePort,
                NtpServer = session.NtpServer,
                NtpPort = port,
                Algorithm = session.Algorithm,
                C2SKey = session.C2SKey,
                S2CKey = session.S2CKey,
                EstablishedUnixNanoseconds = session.EstablishedUnixNanoseconds,
            }.WithCookies(session.Cookies)
            : session;
        LogKeyExchanged(_logger, _host, _kePort, (int)Session.Algorithm, Session.Cookies.Count, Session.NtpServer, Session.NtpPort);
    }

    private void LoadFromStoreOnce()
    {
        if (_storeLoaded || _store is null)
        {
            return;
        }

        _storeLoaded = true;
        try
        {
            if (_store.Load(_host, _kePort) is { Cookies.Count: > 0 } saved)
            {
                Session = saved;
                SessionLoadedFromStore = true;
            }
        }
        catch (NtsStateFileException e)
        {
            LogStoreUnreadable(_logger, e.Message);
        }
    }

    private void Discard()
    {
        Session = null;
        SessionLoadedFromStore = false;
        _store?.Delete(_host, _kePort);
    }

    private void Save()
    {
        if (_store is null || Session is null)
        {
            return;
        }

        try
        {
            _store.Save(Session);
        }
        catch (NtsStateFileException e)
        {
            LogStoreUnwritable(_logger, e.Message);
        }
    }

    [LoggerMessage(EventId = 440, Level = LogLevel.Information, Message = "NTS-KE with {Host}:{Port}: AEAD {Aead}, {Cookies} cookies, NTP at {NtpServer}:{NtpPort}")]
    private static partial void LogKeyExchanged(ILogger logger, string host, int port, int aead, int cookies, string ntpServer, int ntpPort);

    [LoggerMessage(EventId = 441, Level = LogLevel.Warning, Message = "NTS session with {Host}:{Port} dropped, running NTS-KE again: {Reason}")]
    private static partial void LogSessionDropped(ILogger logger, string host, int port, string reason);

    [LoggerMessage(EventId = 442, Level = LogLevel.Warning, Message = "saved NTS session ignored: {Reason}")]
    private static partial void LogStoreUnreadable(ILogger logger, string reason);

    [LoggerMessage(EventId = 443, Level = LogLevel.Warning, Message = "NTS session not saved: {Reason}")]
    private static partial void LogStoreUnwritable(ILogger logger, string reason);
}
