namespace Tempus.Control;

/// <summary>
/// What tempusd implements for the control socket. Every method is called on a thread-pool thread, possibly
/// concurrently with others (one call per connected client at a time) and with the <see cref="ControlServer"/>'s
/// request timeout as <c>cancellationToken</c>. Monitoring methods should return a snapshot quickly (return
/// <see cref="Task.FromResult{TResult}(TResult)"/> when the data is at hand); changing methods may await work.
/// A changing method that fails throws <see cref="ControlCommandException"/>, whose message the user sees;
/// any other exception is logged and reported as an internal failure.
/// </summary>
public interface IControlHandler
{
    /// <summary>The system's reference and clock correction (<c>tracking</c>, <c>waitsync</c>).</summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<TrackingReport> GetTrackingAsync(CancellationToken cancellationToken);

    /// <summary>Every source in configuration order (<c>sources</c>, <c>sourcestats</c>, <c>selectdata</c>, <c>authdata</c>, <c>ntpdata</c>).</summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<IReadOnlyList<SourceReport>> GetSourcesAsync(CancellationToken cancellationToken);

    /// <summary>How many sources are online, offline, bursting, unresolved (<c>activity</c>).</summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<ActivityReport> GetActivityAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The server's counters (<c>serverstats</c>). Leave <see cref="ServerStatsReport.CommandPacketsReceived"/> and
    /// <see cref="ServerStatsReport.CommandPacketsDropped"/> at 0: the control server fills them in.
    /// </summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<ServerStatsReport> GetServerStatsAsync(CancellationToken cancellationToken);

    /// <summary>The NTP server's client table (<c>clients</c>).</summary>
    /// <param name="query">Which side (<c>-k</c>), which clients (<c>-p</c>), and whether to zero their counters (<c>-r</c>, already authorized).</param>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<IReadOnlyList<ClientReport>> GetClientsAsync(ClientQuery query, CancellationToken cancellationToken);

    /// <summary>Step the clock by the whole remaining correction now (<c>makestep</c>).</summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task MakeStepAsync(CancellationToken cancellationToken);

    /// <summary>Run NTS-KE again for every NTS source (<c>rekey</c>); returns how many sources will re-key.</summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<int> RekeyAsync(CancellationToken cancellationToken);

    /// <summary>Re-read the <c>sourcedir</c> files (<c>reload sources</c>); returns how many sources changed.</summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<int> ReloadSourcesAsync(CancellationToken cancellationToken);

    /// <summary>Save NTS cookies and the drift file now (<c>dump</c>).</summary>
    /// <param name="cancellationToken">The request timeout.</param>
    Task DumpAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Switch sources online or offline (<c>online</c>/<c>offline</c>); returns how many sources were switched.
    /// Throw <see cref="ControlCommandException"/> with <see cref="ControlErrorCodes.NoSuchSource"/> when
    /// <paramref name="addressOrName"/> matches nothing.
    /// </summary>
    /// <param name="addressOrName">A source's address or configured name; null for every source.</param>
    /// <param name="online">True for online, false for offline.</param>
    /// <param name="cancellationToken">The request timeout.</param>
    Task<int> SetOnlineAsync(string? addressOrName, bool online, CancellationToken cancellationToken);
}

/// <summary>A control command that ran and failed; its message is shown to the user of tempusctl.</summary>
public sealed class ControlCommandException : Exception
{
    /// <summary>Creates the exception with <see cref="ControlErrorCodes.Failed"/>.</summary>
    /// <param name="message">What failed and what to do, one sentence.</param>
    public ControlCommandException(string message)
        : this(ControlErrorCodes.Failed, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="code">One of <see cref="ControlErrorCodes"/>.</param>
    /// <param name="message">What failed and what to do, one sentence.</param>
    public ControlCommandException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What failed and what to do, one sentence.</param>
    /// <param name="inner">The cause.</param>
    public ControlCommandException(string message, Exception inner)
        : base(message, inner)
    {
        Code = ControlErrorCodes.Failed;
    }

    /// <summary>Creates the exception with no message.</summary>
    public ControlCommandException()
    {
        Code = ControlErrorCodes.Failed;
    }

    /// <summary>One of <see cref="ControlErrorCodes"/>.</summary>
    public string Code { get; }
}

/// <summary>What <c>clients</c> asks for.</summary>
/// <param name="NtsKe">True for <c>clients -k</c>: clients with NTS-KE connections, with the NTS-KE columns.</param>
/// <param name="MinPackets">Least requests (connections with <paramref name="NtsKe"/>) a client needs to be listed, at least 1 (<c>-p</c>).</param>
/// <param name="Reset">Zero the listed clients' request and drop counters after reading them (<c>-r</c>).</param>
public readonly record struct ClientQuery(bool NtsKe, long MinPackets = 1, bool Reset = false);
