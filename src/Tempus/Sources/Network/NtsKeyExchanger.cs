using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Sources.Network;

/// <summary>
/// Whom an NTS source trusts (chrony's <c>ntstrustedcerts [set]</c>, <c>nosystemcert</c>, <c>nocerttimecheck N</c>).
/// </summary>
/// <param name="Files">CA certificate files of the source's certificate set.</param>
/// <param name="Directories">Directories of <c>*.crt</c> CA files of the set.</param>
/// <param name="UseSystemCertificates">Whether the system CA store is trusted too.</param>
/// <param name="NoCertTimeCheckUpdates">Certificate validity dates are not checked until the clock has been updated this often; 0 = always checked.</param>
/// <param name="ClockUpdates">How many times the clock has been updated so far.</param>
internal sealed record NtsTrust(IReadOnlyList<string> Files, IReadOnlyList<string> Directories, bool UseSystemCertificates, int NoCertTimeCheckUpdates, Func<long> ClockUpdates)
{
    /// <summary>
    /// Issue 3, the bootstrap paradox: a clock too wrong to verify any certificate cannot be set by NTS unless the
    /// validity dates are ignored until the clock has been updated <see cref="NoCertTimeCheckUpdates"/> times.
    /// </summary>
    public bool SkipTimeCheckNow => NoCertTimeCheckUpdates > 0 && ClockUpdates() < NoCertTimeCheckUpdates;

    /// <summary>The trust of certificate set <paramref name="certSet"/>: each path is a directory if one exists there, else a file.</summary>
    public static NtsTrust ForCertSet(TempusConfiguration configuration, int certSet, Func<long> clockUpdates)
    {
        var files = new List<string>();
        var directories = new List<string>();
        if (configuration.NtsTrustedCertificates.TryGetValue(certSet, out List<string>? paths))
        {
            foreach (string path in paths)
            {
                (Directory.Exists(path) ? directories : files).Add(path);
            }
        }

        return new NtsTrust(files, directories, !configuration.NoSystemCertificates, configuration.NoCertTimeCheckUpdates, clockUpdates);
    }
}

/// <summary>
/// The NTS-KE side of one NTS source (RFC 8915 §4): the trust to use, the §4.2 backoff between failed exchanges,
/// <c>ntsrefresh</c>, the session saved under <c>ntsdumpdir</c>, and what <c>authdata</c> shows (time of the last
/// exchange, attempts, the last error). Driven by one source loop; its status properties may be read from any
/// thread.
/// </summary>
internal sealed class NtsKeyExchanger
{
    private readonly string _certificateName;
    private readonly int? _ntpPortOverride;
    private readonly NtsTrust _trust;
    private readonly NtsSessionStore? _store;
    private readonly ISystemClock _clock;
    private readonly NtsKeClient _client;
    private readonly TimeSpan _refresh;
    private volatile bool _rekeyRequested;
    private bool _loaded;

    /// <param name="keHost">Where NTS-KE connects: the configured name, or a pool member's address.</param>
    /// <param name="kePort">The NTS-KE port.</param>
    /// <param name="certificateName">The name the server certificate must carry (the configured name).</param>
    /// <param name="ntpPortOverride">The configured NTP port when not 123: used when the server sends no Port record.</param>
    /// <param name="trust">The source's certificate set and time-check rule.</param>
    /// <param name="store">The <c>ntsdumpdir</c> store, or null.</param>
    /// <param name="clock">The local clock (session age).</param>
    /// <param name="client">The shared NTS-KE client.</param>
    /// <param name="refresh">Session age after which a new exchange is made; zero = never.</param>
    /// <param name="backoff">The RFC 8915 §4.2 policy.</param>
    public NtsKeyExchanger(string keHost, int kePort, string certificateName, int? ntpPortOverride, NtsTrust trust, NtsSessionStore? store, ISystemClock clock, NtsKeClient client, TimeSpan refresh, NtsKeBackoff backoff)
    {
        KeHost = keHost;
        KePort = kePort;
        _certificateName = certificateName;
        _ntpPortOverride = ntpPortOverride;
        _trust = trust;
        _store = store;
        _clock = clock;
        _client = client;
        _refresh = refresh;
        Backoff = backoff;
    }

    /// <summary>Where NTS-KE connects.</summary>
    public string KeHost { get; }

    /// <summary>The NTS-KE port.</summary>
    public int KePort { get; }

    /// <summary>RFC 8915 §4.2 backoff; its failure count is chronyc's <c>Atmp</c>.</summary>
    public NtsKeBackoff Backoff { get; }

    /// <summary>Successful key exchanges (sessions loaded from the store not counted).</summary>
    public int KeyExchanges { get; private set; }

    /// <summary>When the current session was established (Unix ns, local clock); 0 = no session.</summary>
    public long SessionEstablishedUnixNs { get; private set; }

    /// <summary>The last failure (NTS-KE, TLS, trust files, NAK), kept until the next success.</summary>
    public string? LastError { get; set; }

    /// <summary>Whether the current session came from <c>ntsdumpdir</c>.</summary>
    public bool SessionFromStore { get; private set; }

    /// <summary>Whether the current session was established with the certificate time check skipped.</summary>
    public bool SessionTimeCheckSkipped { get; private set; }

    /// <summary>Whether an authenticated response has been accepted with the current session.</summary>
    public bool SessionUsed { get; set; }

    /// <summary>Whether a failure was already counted against the current session (its cookies were rejected).</summary>
    public bool SessionFailureRecorded { get; set; }

    /// <summary>Asks for a new exchange before the next poll (<c>tempusctl rekey</c>).</summary>
    public void RequestRekey() => _rekeyRequested = true;

    /// <summary>The session saved under <c>ntsdumpdir</c>, on the first call only; null when none (or damaged: <paramref name="problem"/>).</summary>
    public NtsSession? LoadSavedOnce(out string? problem)
    {
        problem = null;
        if (_loaded || _store is null)
        {
            return null;
        }

        _loaded = true;
        try
        {
            if (_store.Load(KeHost, KePort) is { Cookies.Count: > 0 } saved)
            {
                SessionFromStore = true;
                SessionUsed = false;
                SessionFailureRecorded = false;
                SessionEstablishedUnixNs = saved.EstablishedUnixNanoseconds;
                return saved;
            }
        }
        catch (NtsStateFileException e)
        {
            problem = $"saved NTS session ignored: {e.Message}";
        }

        return null;
    }

    /// <summary>Whether <paramref name="session"/> may still authenticate requests.</summary>
    /// <remarks>
    /// A session whose server certificate was accepted without the time check stops being usable once the clock has
    /// been updated <c>nocerttimecheck</c> times: the dates can now be checked, so the server is checked again.
    /// </remarks>
    public bool IsUsable(NtsSession? session, bool authenticatorNeedsKeyExchange) =>
        session is not null && !authenticatorNeedsKeyExchange && !(SessionTimeCheckSkipped && !_trust.SkipTimeCheckNow);

    /// <summary>Why a new exchange is due now, or null when the current session serves.</summary>
    public string? ExchangeReason(NtsSession? session, bool authenticatorNeedsKeyExchange)
    {
        if (session is null)
        {
            return "no session";
        }

        if (authenticatorNeedsKeyExchange)
        {
            return "the session has no cookies left or was rejected (NTS NAK)";
        }

        if (SessionTimeCheckSkipped && !_trust.SkipTimeCheckNow)
        {
            return $"the session's certificate was accepted without its time check, and the clock has now been updated {_trust.NoCertTimeCheckUpdates} times";
        }

        if (_rekeyRequested)
        {
            return "rekey requested";
        }

        return _refresh > TimeSpan.Zero && _clock.UnixNanoseconds - session.EstablishedUnixNanoseconds > (long)_refresh.TotalNanoseconds
            ? "ntsrefresh interval passed"
            : null;
    }

    /// <summary>
    /// One NTS-KE exchange with the trust of the source's certificate set. Failures are recorded in the backoff and
    /// in <see cref="LastError"/> and return null.
    /// </summary>
    public async Task<NtsSession?> ExchangeAsync(CancellationToken cancellationToken)
    {
        _rekeyRequested = false;
        bool skipTimeCheck = _trust.SkipTimeCheckNow;
        var options = new NtsKeClientOptions
        {
            TrustedCertificateFiles = _trust.Files,
            TrustedCertificateDirectories = _trust.Directories,
            UseSystemCertificates = _trust.UseSystemCertificates,
            SkipCertificateTimeChecks = skipTimeCheck,
            CertificateName = string.Equals(_certificateName, KeHost, StringComparison.OrdinalIgnoreCase) ? null : _certificateName,
        };

        NtsSession session;
        try
        {
            session = await _client.ExchangeAsync(KeHost, KePort, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NtsKeException or TlsConfigurationException or TlsException)
        {
            Backoff.RecordFailure();
            LastError = e.Message;
            return null;
        }

        KeyExchanges++;
        LastError = null;
        SessionFromStore = false;
        SessionUsed = false;
        SessionFailureRecorded = false;
        SessionTimeCheckSkipped = skipTimeCheck;
        SessionEstablishedUnixNs = session.EstablishedUnixNanoseconds;
        if (_ntpPortOverride is int port && session.NtpPort == NtsKeResponse.DefaultNtpPort)
        {
            // A server that sends no Port record serves NTP on the configured port (chrony's "port" with "nts").
            session = new NtsSession
            {
                KeServer = session.KeServer,
                KePort = session.KePort,
                NtpServer = session.NtpServer,
                NtpPort = port,
                Algorithm = session.Algorithm,
                C2SKey = session.C2SKey,
                S2CKey = session.S2CKey,
                EstablishedUnixNanoseconds = session.EstablishedUnixNanoseconds,
            }.WithCookies(session.Cookies);
        }

        return session;
    }

    /// <summary>Saves <paramref name="session"/> under <c>ntsdumpdir</c>; returns the problem, or null when saved (or no store).</summary>
    public string? Save(NtsSession session)
    {
        if (_store is null)
        {
            return null;
        }

        try
        {
            _store.Save(session);
            return null;
        }
        catch (Exception e) when (e is NtsStateFileException or ArgumentException)
        {
            return $"NTS session not saved: {e.Message}";
        }
    }

    /// <summary>Removes the saved session (a pool member that is replaced).</summary>
    public void DeleteSaved()
    {
        try
        {
            _store?.Delete(KeHost, KePort);
        }
        catch (NtsStateFileException)
        {
            // Only a stale file is left behind; the next exchange overwrites it.
        }
    }
}
