using Tempus.Control;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Cli.Tests;

/// <summary>Reports with values chosen to hit every unit branch of chronyc's formatting (ns, us, ms, s, m, h, d).</summary>
internal static class KnownReports
{
    public static TrackingReport Tracking { get; } = new()
    {
        ReferenceId = 0xC0000201,
        ReferenceName = "ntp1.example.com",
        Stratum = 2,
        ReferenceTimeUnixNs = 1_700_000_000_123_456_700,
        SystemTimeOffset = -0.000001234,
        LastOffset = 0.000012345,
        RmsOffset = 0.0000234,
        FrequencyPpm = 12.3456,
        ResidualFrequencyPpm = 0.001,
        SkewPpm = 0.05,
        RootDelay = 0.000345678,
        RootDispersion = 0.001234567,
        UpdateInterval = 64.2,
        Leap = LeapIndicator.NoWarning,
        Updates = 42,
        ClockControl = "free-running (-x): the clock is not adjusted",
    };

    public static IReadOnlyList<SourceReport> Sources { get; } =
    [
        new SourceReport
        {
            Name = "ntp1.example.com",
            Address = "192.0.2.1",
            Status = SourceSelectionStatus.Selected,
            StatusReason = "selected: the best of 2 authenticated survivors",
            Stratum = 1,
            Poll = 6,
            Reach = 0xFF,
            LastRxAgo = 35,
            AdjustedOffset = -1.234e-6,
            MeasuredOffset = -1.23e-5,
            ErrorBound = 0.0153,
            SampleCount = 8,
            Runs = 5,
            SpanSeconds = 520,
            FrequencyPpm = -0.012,
            SkewPpm = 0.345,
            EstimatedOffset = -2.5e-7,
            StandardDeviation = 3.4e-6,
            IntervalLow = -0.0162,
            IntervalHigh = 0.0138,
            RootDistance = 0.0153,
            SelectOptions = SourceSelectOptions.Prefer,
            EffectiveSelectOptions = SourceSelectOptions.Prefer | SourceSelectOptions.Trust | SourceSelectOptions.Require,
            Authentication = SourceAuthentication.Nts,
            KeyType = "AES-SIV-CMAC-256",
            KeyBits = 256,
            NtsKeAgo = 4000,
            NtsCookies = 8,
            NtsCookieLength = 100,
            LocalAddress = "192.0.2.100",
            Leap = LeapIndicator.NoWarning,
            Version = 4,
            Mode = 4,
            Precision = -20,
            SourceRootDelay = 0.000123,
            SourceRootDispersion = 0.000456,
            SourceReferenceId = 0x47505300,
            SourceReferenceTimeUnixNs = 1_700_000_000_123_456_700,
            PeerDelay = 0.000345,
            PeerDispersion = 0.0000012,
            ResponseTime = 0.0000456,
            NtpTests = "111 111 1111",
            LastResponseAuthenticated = true,
            KernelRxTimestamp = true,
            TotalTx = 20,
            TotalRx = 19,
            TotalValidRx = 18,
        },
        new SourceReport
        {
            Name = "plain.example.net",
            Address = "198.51.100.7",
            Status = SourceSelectionStatus.Unauthenticated,
            StatusReason = "excluded: authselectmode prefer (the default) selects only authenticated sources once one is configured",
            Stratum = 3,
            Poll = 10,
            Reach = 0x7F,
            LastRxAgo = 4000,
            AdjustedOffset = 0.0123,
            MeasuredOffset = 55.5,
            ErrorBound = 1500,
            SampleCount = 12,
            Runs = 7,
            SpanSeconds = 40000,
            FrequencyPpm = 123456.7,
            SkewPpm = 0.5,
            EstimatedOffset = 0.2501,
            StandardDeviation = 0.0046,
            IntervalLow = -1.4877,
            IntervalHigh = 1.5123,
            RootDistance = 15.5,
            Leap = LeapIndicator.InsertSecond,
            Version = 4,
            Mode = 4,
            Precision = -6,
            SourceReferenceId = 0xC0000201,
            TotalTx = 5,
            TotalRx = 5,
            TotalValidRx = 5,
            NtpTests = "111 111 1111",
        },
        new SourceReport
        {
            Name = "a-very-long-host-name.example.org",
            Address = "2001:db8::1",
            Status = SourceSelectionStatus.Unreachable,
            StatusReason = "unreachable: no response to the last 8 requests",
            Poll = 6,
            Authentication = SourceAuthentication.SymmetricKey,
            KeyId = 11,
            KeyType = "AES128",
            KeyBits = 128,
            AuthenticationFailures = 3,
            LastAuthenticationError = "MAC mismatch for key 11",
        },
        new SourceReport
        {
            Name = "far.example",
            Address = "203.0.113.5",
            Status = SourceSelectionStatus.Falseticker,
            StatusReason = "falseticker: its interval does not overlap the majority's",
            Stratum = 2,
            Poll = 4,
            Reach = 1,
            LastRxAgo = 400000,
            AdjustedOffset = 200000,
            MeasuredOffset = 0.0000000004,
            ErrorBound = 4e6,
            SpanSeconds = 1200,
            Leap = LeapIndicator.NoWarning,
        },
    ];

    public static ActivityReport Activity { get; } = new(3, 1, 0, 0, 1);

    public static ServerStatsReport ServerStats { get; } = new()
    {
        NtpPacketsReceived = 123456,
        NtpPacketsDropped = 12,
        CommandPacketsReceived = 7,
        CommandPacketsDropped = 1,
        NtsKeConnectionsAccepted = 34,
        NtsKeConnectionsDropped = 2,
        AuthenticatedNtpPackets = 1000,
        NtpResponsesSent = 123440,
        RateLimitKods = 4,
        NtsNaks = 3,
    };

    public static IReadOnlyList<ClientReport> Clients { get; } =
    [
        new ClientReport { Address = "192.0.2.50", NtpRequests = 1234, NtpDropped = 5, NtpInterval = 6, NtpLastAgo = 12, NtsKeRequests = 3, NtsKeDropped = 1, NtsKeInterval = 12, NtsKeLastAgo = 40000 },
        new ClientReport { Address = "2001:db8:ffff:ffff:ffff:ffff:ffff:1", NtpRequests = 0, NtpLastAgo = -1 },
    ];
}
