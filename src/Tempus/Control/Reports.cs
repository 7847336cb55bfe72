using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Control;

/// <summary>
/// What <c>tempusctl tracking</c> shows: the system's reference and how the clock is being corrected.
/// Field names follow <c>chronyc tracking</c>; signs follow Tempus (offset = reference − local).
/// </summary>
public sealed record TrackingReport
{
    /// <summary>Reference id of the system peer (or of the local reference), 0 when unsynchronized.</summary>
    public uint ReferenceId { get; init; }

    /// <summary>The system peer's name or address, empty when unsynchronized.</summary>
    public string ReferenceName { get; init; } = "";

    /// <summary>Our stratum (16 = unsynchronized).</summary>
    public int Stratum { get; init; } = 16;

    /// <summary>When the clock was last updated, Unix nanoseconds on the corrected clock; 0 = never.</summary>
    public long ReferenceTimeUnixNs { get; init; }

    /// <summary>
    /// How far the system clock is from the corrected (NTP) time right now, in seconds, reference − local:
    /// the part of the offset still being slewed out (chronyc's "System time": positive = slow of NTP time).
    /// </summary>
    public double SystemTimeOffset { get; init; }

    /// <summary>The offset measured at the last update, seconds (reference − local).</summary>
    public double LastOffset { get; init; }

    /// <summary>Long-term average of the offsets, seconds.</summary>
    public double RmsOffset { get; init; }

    /// <summary>Frequency correction applied to the clock, ppm (positive = the clock is made to run faster).</summary>
    public double FrequencyPpm { get; init; }

    /// <summary>Residual frequency of the system peer not yet corrected, ppm.</summary>
    public double ResidualFrequencyPpm { get; init; }

    /// <summary>Estimated error bound of the frequency, ppm.</summary>
    public double SkewPpm { get; init; }

    /// <summary>Root delay to the primary reference, seconds.</summary>
    public double RootDelay { get; init; }

    /// <summary>Root dispersion to the primary reference, seconds.</summary>
    public double RootDispersion { get; init; }

    /// <summary>Interval between the last two clock updates, seconds.</summary>
    public double UpdateInterval { get; init; }

    /// <summary>The leap status we publish.</summary>
    public LeapIndicator Leap { get; init; } = LeapIndicator.Unsynchronized;

    /// <summary>Number of clock updates since start (what <c>nocerttimecheck</c> and <c>makestep</c> count).</summary>
    public long Updates { get; init; }

    /// <summary>What drives the clock (e.g. "free-running (-x) ..."), for the reader of the view.</summary>
    public string ClockControl { get; init; } = "";

    /// <summary>True when a system peer is selected and the clock has been updated from it.</summary>
    public bool IsSynchronized => Stratum < 16 && ReferenceTimeUnixNs != 0;
}

/// <summary>Whether a source is being polled (chronyc's online/offline).</summary>
public enum SourceActivity
{
    /// <summary>Polled normally.</summary>
    Online,

    /// <summary>Not polled (<c>offline</c>).</summary>
    Offline,

    /// <summary>In a burst (iburst at start), returning to online afterwards.</summary>
    BurstOnline,

    /// <summary>Its name has not resolved yet.</summary>
    UnresolvedAddress,
}

/// <summary>
/// Everything the per-source views show about one source: <c>sources</c>, <c>sourcestats</c>, <c>selectdata</c>,
/// <c>authdata</c> and <c>ntpdata</c> are projections of this record.
/// </summary>
public sealed record SourceReport
{
    // --- identity and configuration ---

    /// <summary>The name shown (host name as configured, or the address for pool members).</summary>
    public required string Name { get; init; }

    /// <summary>The address in use ("" while unresolved).</summary>
    public string Address { get; init; } = "";

    /// <summary>UDP port of the NTP server.</summary>
    public int Port { get; init; } = 123;

    /// <summary>The pool this source came from, or null for a <c>server</c> line.</summary>
    public string? Pool { get; init; }

    /// <summary>Online, offline, burst, unresolved.</summary>
    public SourceActivity Activity { get; init; }

    /// <summary>The configured selection options.</summary>
    public SourceSelectOptions SelectOptions { get; init; }

    /// <summary>
    /// The selection options in effect, when selection adds to the configured ones (<c>authselectmode mix</c> makes
    /// authenticated sources trust and require); null when they are <see cref="SelectOptions"/>. Shown as EOpts by
    /// <c>tempusctl selectdata</c>.
    /// </summary>
    public SourceSelectOptions? EffectiveSelectOptions { get; init; }

    // --- sources ---

    /// <summary>Selection outcome for this source (state letter and reason).</summary>
    public SourceSelectionStatus Status { get; init; } = SourceSelectionStatus.Unreachable;

    /// <summary>One sentence: why the source has its state (from selection).</summary>
    public string StatusReason { get; init; } = "";

    /// <summary>The source's stratum from its last valid response (0 when none).</summary>
    public int Stratum { get; init; }

    /// <summary>Current poll exponent, log2 seconds.</summary>
    public int Poll { get; init; }

    /// <summary>The 8-bit reachability register (shown in octal).</summary>
    public byte Reach { get; init; }

    /// <summary>Seconds since the last valid sample; -1 when none yet.</summary>
    public double LastRxAgo { get; init; } = -1;

    /// <summary>The last sample's offset adjusted for corrections made since, seconds (reference − local).</summary>
    public double AdjustedOffset { get; init; }

    /// <summary>The last sample's offset as measured, seconds (reference − local).</summary>
    public double MeasuredOffset { get; init; }

    /// <summary>The last sample's error bound (distance), seconds.</summary>
    public double ErrorBound { get; init; }

    // --- sourcestats ---

    /// <summary>Samples held by the regression (NP).</summary>
    public int SampleCount { get; init; }

    /// <summary>Runs of residuals with the same sign (NR).</summary>
    public int Runs { get; init; }

    /// <summary>Seconds between the oldest and newest sample (Span).</summary>
    public double SpanSeconds { get; init; }

    /// <summary>Estimated residual frequency of the source relative to the local clock, ppm.</summary>
    public double FrequencyPpm { get; init; }

    /// <summary>Error bound of <see cref="FrequencyPpm"/>, ppm.</summary>
    public double SkewPpm { get; init; }

    /// <summary>Estimated offset now, seconds (reference − local).</summary>
    public double EstimatedOffset { get; init; }

    /// <summary>Standard deviation of the samples about the regression, seconds.</summary>
    public double StandardDeviation { get; init; }

    // --- selectdata ---

    /// <summary>Lower end of the correctness interval, seconds.</summary>
    public double IntervalLow { get; init; }

    /// <summary>Upper end of the correctness interval, seconds.</summary>
    public double IntervalHigh { get; init; }

    /// <summary>Root distance through this source, seconds.</summary>
    public double RootDistance { get; init; }

    // --- authdata ---

    /// <summary>None, symmetric key or NTS.</summary>
    public SourceAuthentication Authentication { get; init; }

    /// <summary>Symmetric key id, or null.</summary>
    public uint? KeyId { get; init; }

    /// <summary>Key type as in the key file ("AES128", "SHA1"...), or the NTS AEAD name ("AES-SIV-CMAC-256").</summary>
    public string KeyType { get; init; } = "";

    /// <summary>Key length in bits (symmetric key, or the NTS C2S key).</summary>
    public int KeyBits { get; init; }

    /// <summary>Seconds since the last successful NTS-KE; -1 when none.</summary>
    public double NtsKeAgo { get; init; } = -1;

    /// <summary>NTS-KE attempts since the last success (chronyc's Atmp).</summary>
    public int NtsKeAttempts { get; init; }

    /// <summary>NTS NAKs received since the last NTS-KE.</summary>
    public int NtsNaks { get; init; }

    /// <summary>NTS cookies held.</summary>
    public int NtsCookies { get; init; }

    /// <summary>Length of the cookies held, bytes.</summary>
    public int NtsCookieLength { get; init; }

    /// <summary>The last NTS-KE or authentication error, for the audit; empty when none.</summary>
    public string LastAuthenticationError { get; init; } = "";

    /// <summary>Responses that failed authentication (MAC or NTS authenticator).</summary>
    public long AuthenticationFailures { get; init; }

    // --- ntpdata ---

    /// <summary>Local address the requests leave from ("" when unknown).</summary>
    public string LocalAddress { get; init; } = "";

    /// <summary>The last response's leap indicator.</summary>
    public LeapIndicator Leap { get; init; } = LeapIndicator.Unsynchronized;

    /// <summary>The last response's version number.</summary>
    public int Version { get; init; }

    /// <summary>The last response's mode.</summary>
    public int Mode { get; init; }

    /// <summary>The last response's precision, log2 seconds.</summary>
    public int Precision { get; init; }

    /// <summary>The source's root delay, seconds.</summary>
    public double SourceRootDelay { get; init; }

    /// <summary>The source's root dispersion, seconds.</summary>
    public double SourceRootDispersion { get; init; }

    /// <summary>The source's reference id.</summary>
    public uint SourceReferenceId { get; init; }

    /// <summary>The source's reference timestamp, Unix nanoseconds (0 = none).</summary>
    public long SourceReferenceTimeUnixNs { get; init; }

    /// <summary>The last sample's round-trip delay, seconds.</summary>
    public double PeerDelay { get; init; }

    /// <summary>The last sample's dispersion, seconds.</summary>
    public double PeerDispersion { get; init; }

    /// <summary>Server's processing time (T3 − T2), seconds.</summary>
    public double ResponseTime { get; init; }

    /// <summary>The tests of RFC 5905 / chrony the last response passed, as chronyc prints them ("111 111 1111").</summary>
    public string NtpTests { get; init; } = "";

    /// <summary>Whether the last response was authenticated.</summary>
    public bool LastResponseAuthenticated { get; init; }

    /// <summary>Whether T4 came from the kernel (SO_TIMESTAMPNS).</summary>
    public bool KernelRxTimestamp { get; init; }

    /// <summary>Whether T1 came from the kernel (SO_TIMESTAMPING software transmit timestamp).</summary>
    public bool KernelTxTimestamp { get; init; }

    /// <summary>Requests sent.</summary>
    public long TotalTx { get; init; }

    /// <summary>Responses received.</summary>
    public long TotalRx { get; init; }

    /// <summary>Responses that passed the header and authentication checks.</summary>
    public long TotalValidRx { get; init; }

    /// <summary>Kiss-o'-Death code last received ("RATE", "DENY"...), empty when none.</summary>
    public string LastKissCode { get; init; } = "";
}

/// <summary>What <c>tempusctl activity</c> shows.</summary>
/// <param name="Online">Sources online.</param>
/// <param name="Offline">Sources offline.</param>
/// <param name="BurstOnline">Sources in a burst, returning online.</param>
/// <param name="BurstOffline">Sources in a burst, returning offline.</param>
/// <param name="UnresolvedAddress">Sources whose name has not resolved.</param>
public sealed record ActivityReport(int Online, int Offline, int BurstOnline, int BurstOffline, int UnresolvedAddress);

/// <summary>What <c>tempusctl serverstats</c> shows (chronyc's fields).</summary>
public sealed record ServerStatsReport
{
    /// <summary>NTP packets received.</summary>
    public long NtpPacketsReceived { get; init; }

    /// <summary>NTP packets dropped (invalid, denied, rate limited).</summary>
    public long NtpPacketsDropped { get; init; }

    /// <summary>Command packets received.</summary>
    public long CommandPacketsReceived { get; init; }

    /// <summary>Command packets dropped.</summary>
    public long CommandPacketsDropped { get; init; }

    /// <summary>Client log records dropped (the client table was full).</summary>
    public long ClientLogRecordsDropped { get; init; }

    /// <summary>NTS-KE connections accepted.</summary>
    public long NtsKeConnectionsAccepted { get; init; }

    /// <summary>NTS-KE connections dropped (rate limit, cap, errors).</summary>
    public long NtsKeConnectionsDropped { get; init; }

    /// <summary>Authenticated NTP packets (symmetric key or NTS).</summary>
    public long AuthenticatedNtpPackets { get; init; }

    /// <summary>Interleaved NTP packets (always 0: Tempus does not serve interleaved mode).</summary>
    public long InterleavedNtpPackets { get; init; }

    /// <summary>NTP responses sent.</summary>
    public long NtpResponsesSent { get; init; }

    /// <summary>KoD RATE responses sent.</summary>
    public long RateLimitKods { get; init; }

    /// <summary>NTS NAKs sent.</summary>
    public long NtsNaks { get; init; }
}

/// <summary>One row of <c>tempusctl clients</c> (chronyc's columns).</summary>
public sealed record ClientReport
{
    /// <summary>The client's address.</summary>
    public required string Address { get; init; }

    /// <summary>NTP requests received.</summary>
    public long NtpRequests { get; init; }

    /// <summary>NTP requests dropped by the rate limit.</summary>
    public long NtpDropped { get; init; }

    /// <summary>Average interval between NTP requests, log2 seconds.</summary>
    public int NtpInterval { get; init; }

    /// <summary>Seconds since the last NTP request; -1 when none.</summary>
    public double NtpLastAgo { get; init; } = -1;

    /// <summary>NTS-KE connections (shown by <c>clients -k</c>).</summary>
    public long NtsKeRequests { get; init; }

    /// <summary>NTS-KE connections dropped by <c>ntsratelimit</c>.</summary>
    public long NtsKeDropped { get; init; }

    /// <summary>Average interval between NTS-KE connections, log2 seconds.</summary>
    public int NtsKeInterval { get; init; }

    /// <summary>Seconds since the last NTS-KE connection; -1 when none.</summary>
    public double NtsKeLastAgo { get; init; } = -1;
}
