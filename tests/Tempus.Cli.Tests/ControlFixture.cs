using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Control;

namespace Tempus.Cli.Tests;

/// <summary>A real ControlServer on a socket in a temporary directory, answering with <see cref="KnownReports"/>.</summary>
internal sealed class ControlFixture : IAsyncDisposable
{
    private readonly string _dir;

    private ControlFixture(string dir, KnownReportsHandler handler, ControlServer server)
    {
        _dir = dir;
        Handler = handler;
        Server = server;
    }

    public KnownReportsHandler Handler { get; }

    public ControlServer Server { get; }

    public string SocketPath => Server.SocketPath;

    public string Directory => _dir;

    public static ControlFixture Start(string? group = null, uint? daemonUid = null)
    {
        string dir = System.IO.Directory.CreateTempSubdirectory("tempusctl-ctl-").FullName;
        var handler = new KnownReportsHandler();
        var server = new ControlServer(handler, new ControlServerOptions { SocketPath = Path.Combine(dir, "run", "tempusd.sock"), Group = group, DaemonUid = daemonUid }, NullLogger.Instance);
        server.Start();
        return new ControlFixture(dir, handler, server);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        System.IO.Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>Answers with <see cref="KnownReports"/>; records changing commands; tracking can be switched to synchronized.</summary>
internal sealed class KnownReportsHandler : IControlHandler
{
    private readonly List<string> _actions = [];
    private int _trackingCalls;

    /// <summary>The tracking call (1-based) from which the daemon reports synchronized; 0 = never.</summary>
    public int SynchronizedFromCall { get; set; } = 1;

    public IReadOnlyList<string> Actions
    {
        get
        {
            lock (_actions)
            {
                return [.. _actions];
            }
        }
    }

    public Task<TrackingReport> GetTrackingAsync(CancellationToken cancellationToken)
    {
        int call = Interlocked.Increment(ref _trackingCalls);
        bool synced = SynchronizedFromCall > 0 && call >= SynchronizedFromCall;
        return Task.FromResult(synced ? KnownReports.Tracking : new TrackingReport { SkewPpm = 1.5, SystemTimeOffset = 0.25 });
    }

    public Task<IReadOnlyList<SourceReport>> GetSourcesAsync(CancellationToken cancellationToken) => Task.FromResult(KnownReports.Sources);

    public Task<ActivityReport> GetActivityAsync(CancellationToken cancellationToken) => Task.FromResult(KnownReports.Activity);

    public Task<ServerStatsReport> GetServerStatsAsync(CancellationToken cancellationToken) => Task.FromResult(KnownReports.ServerStats);

    public Task<IReadOnlyList<ClientReport>> GetClientsAsync(ClientQuery query, CancellationToken cancellationToken)
    {
        if (query.Reset)
        {
            Record(string.Create(CultureInfo.InvariantCulture, $"clients -r -p {query.MinPackets}{(query.NtsKe ? " -k" : "")}"));
        }

        return Task.FromResult(KnownReports.Clients);
    }

    public Task MakeStepAsync(CancellationToken cancellationToken)
    {
        Record("makestep");
        return Task.CompletedTask;
    }

    public Task<int> RekeyAsync(CancellationToken cancellationToken) => Task.FromResult(Record("rekey", 1));

    public Task<int> ReloadSourcesAsync(CancellationToken cancellationToken) => Task.FromResult(Record("reload sources", 2));

    public Task DumpAsync(CancellationToken cancellationToken) => Task.FromResult(Record("dump"));

    public Task<int> SetOnlineAsync(string? addressOrName, bool online, CancellationToken cancellationToken)
    {
        if (addressOrName is not null && !KnownReports.Sources.Any(s => s.Address == addressOrName || s.Name == addressOrName))
        {
            throw new ControlCommandException(ControlErrorCodes.NoSuchSource, $"no source has the address or name {addressOrName}");
        }

        return Task.FromResult(Record($"{(online ? "online" : "offline")} {addressOrName ?? "all"}", 1));
    }

    private int Record(string action, int result = 0)
    {
        lock (_actions)
        {
            _actions.Add(action);
        }

        return result;
    }
}
