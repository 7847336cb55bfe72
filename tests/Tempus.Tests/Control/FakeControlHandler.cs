using Tempus.Control;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Tests.Control;

/// <summary>A handler with fixed reports that records the changing commands it ran.</summary>
internal sealed class FakeControlHandler : IControlHandler
{
    private readonly List<string> _actions = [];

    public TrackingReport Tracking { get; set; } = new()
    {
        ReferenceId = 0x7F000001,
        ReferenceName = "127.0.0.1",
        Stratum = 2,
        ReferenceTimeUnixNs = 1_700_000_000_000_000_000,
        Leap = LeapIndicator.NoWarning,
        SkewPpm = 0.5,
    };

    public List<SourceReport> Sources { get; } =
    [
        new SourceReport { Name = "ntp1.example", Address = "192.0.2.1", Status = SourceSelectionStatus.Selected, Authentication = SourceAuthentication.Nts, Reach = 0xFF },
        new SourceReport { Name = "plain.example", Address = "192.0.2.2", Status = SourceSelectionStatus.Unauthenticated, StatusReason = "excluded by authselectmode prefer (the default)" },
    ];

    public Func<CancellationToken, Task>? MakeStepBehavior { get; set; }

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

    public Task<TrackingReport> GetTrackingAsync(CancellationToken cancellationToken) => Task.FromResult(Tracking);

    public Task<IReadOnlyList<SourceReport>> GetSourcesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<SourceReport>>(Sources);

    public Task<ActivityReport> GetActivityAsync(CancellationToken cancellationToken) => Task.FromResult(new ActivityReport(2, 1, 0, 0, 1));

    public Task<ServerStatsReport> GetServerStatsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new ServerStatsReport { NtpPacketsReceived = 10, NtpPacketsDropped = 1, CommandPacketsReceived = 999 });

    public ClientQuery? LastClientQuery { get; private set; }

    public Task<IReadOnlyList<ClientReport>> GetClientsAsync(ClientQuery query, CancellationToken cancellationToken)
    {
        LastClientQuery = query;
        return Task.FromResult<IReadOnlyList<ClientReport>>([new ClientReport { Address = "192.0.2.9", NtpRequests = 5, NtsKeRequests = query.NtsKe ? 3 : 0 }]);
    }

    public async Task MakeStepAsync(CancellationToken cancellationToken)
    {
        if (MakeStepBehavior is not null)
        {
            await MakeStepBehavior(cancellationToken);
        }

        Record("makestep");
    }

    public Task<int> RekeyAsync(CancellationToken cancellationToken) => Task.FromResult(Record("rekey", 1));

    public Task<int> ReloadSourcesAsync(CancellationToken cancellationToken) => Task.FromResult(Record("reload", 0));

    public Task DumpAsync(CancellationToken cancellationToken) => throw new ControlCommandException("cannot write /var/lib/tempus/drift: read-only file system");

    public Task<int> SetOnlineAsync(string? addressOrName, bool online, CancellationToken cancellationToken)
    {
        if (addressOrName is not null && !Sources.Any(s => s.Address == addressOrName || s.Name == addressOrName))
        {
            throw new ControlCommandException(ControlErrorCodes.NoSuchSource, $"no source {addressOrName}");
        }

        return Task.FromResult(Record($"{(online ? "online" : "offline")} {addressOrName ?? "*"}", addressOrName is null ? Sources.Count : 1));
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
