using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Control;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>
/// One NTP server as a client polls it (RFC 5905 §9-§13, chrony's behaviour), with no socket: the driver asks
/// <see cref="BuildRequest"/> for a datagram when <see cref="NextPollNs"/> comes, sends it, passes what comes back to
/// <see cref="ProcessResponse"/>, and calls <see cref="OnTimeout"/> when <see cref="ResponseDeadlineNs"/> passes first.
/// </summary>
/// <remarks>
/// <para>
/// A response must answer the outstanding request: server mode, our (random) transmit timestamp as its origin
/// timestamp, and authentic under the source's <see cref="IRequestAuthenticator"/>; anything else leaves the request
/// outstanding. An authentic answer completes the poll: kiss-o'-death codes are obeyed (RATE slows down, DENY and RSTR
/// stop the source, an NTS NAK sends the driver to NTS-KE), unsynchronized or insane headers give no sample, and a
/// good one gives θ, δ and ε (RFC 5905 §8), passes the <c>maxdelay</c> test and the clock filter's popcorn spike
/// suppressor (RFC 5905 §10), and goes into <see cref="Statistics"/>: one sample per accepted response, chrony's way,
/// whose regression weights samples by their distance.
/// </para>
/// <para>
/// Reachability: the 8-bit register shifts once per poll, with bit 0 set when the poll got an authentic,
/// synchronized answer (RFC 5905 §9.2).
/// </para>
/// <para>
/// Poll adaptation: the poll exponent starts at <c>minpoll</c>. After <see cref="PollIncreaseSamples"/> consecutive
/// accepted samples it goes up by one, to at most <c>maxpoll</c>. It goes down by one, to at least <c>minpoll</c>, when
/// a sample is filtered out (<c>maxdelay</c> or a popcorn spike: the path is jittery) and when two polls in a row go
/// unanswered. A RATE kiss-o'-death raises it by at least one and to no less than the poll in the kiss, and raises the
/// floor to that poll for good (chrony). With <c>iburst</c>, the first <see cref="BurstRequests"/> requests go
/// <see cref="BurstIntervalSeconds"/> s apart whatever the poll.
/// </para>
/// <para>Single-threaded: the driver serializes every call. A poll allocates nothing beyond NTS cookies.</para>
/// </remarks>
public sealed partial class NtpSource : IMeasuredSource
{
    /// <summary>Requests sent at the start with <c>iburst</c>.</summary>
    public const int BurstRequests = 4;

    /// <summary>
    /// How far a kernel transmit timestamp may precede the T1 read before the send, ns: the two clocks are mapped onto
    /// each other by reads a few microseconds apart, so a stamp slightly before is still the request's.
    /// </summary>
    public const long MaxTransmitTimestampLeadNs = 1_000_000;

    /// <summary>How long after the T1 read before the send a kernel transmit timestamp may come, ns (chrony: 1 s).</summary>
    public const long MaxTransmitTimestampLagNs = 1_000_000_000;

    /// <summary>Seconds between the requests of a burst.</summary>
    public const int BurstIntervalSeconds = 2;

    /// <summary>Consecutive accepted samples after which the poll exponent goes up by one.</summary>
    public const int PollIncreaseSamples = 4;

    /// <summary>The longest wait for a response, seconds; shorter when the poll interval is.</summary>
    public const double MaxResponseTimeoutSeconds = 8;

    /// <summary>The smallest buffer <see cref="BuildRequest"/> accepts: the IPv6 minimum MTU, enough for any NTS request.</summary>
    public const int MinRequestBufferLength = 1280;

    /// <summary>MAXDISP: root delay or dispersion at or above this many seconds makes a response unusable (RFC 5905 §7.2).</summary>
    public const double MaxDispersion = 16;

    /// <summary>Samples the clock filter must hold before it may call a new one a popcorn spike.</summary>
    public const int MinSamplesForSpikes = 4;

    private const long NanosecondsPerSecond = 1_000_000_000;

    private readonly ISystemClock _clock;
    private readonly Random? _random;
    private readonly ILogger _logger;
    private readonly double _localPrecision;
    private readonly ClockFilter _filter;
    private IPEndPoint? _address;
    private uint _referenceId;

    // The outstanding request.
    private NtpTimestamp _transmit;
    private NtpTimestamp _t1;
    private long _txLocalNs;
    private bool _kernelTransmitTimestamp;
    private byte _requestVersion;

    // Polling.
    private int _minPoll;
    private int _goodStreak;
    private long _nextMissedPollNs;
    private int _burstSent;

    // The last authentic response, for the views.
    private NtpPacketHeader _lastHeader;
    private bool _haveHeader;
    private double _lastAdjustedOffset;
    private long _lastRxLocalNs;
    private bool _lastAuthenticated;
    private bool _lastKernelTimestamp;
    private double _lastResponseTime;
    private int _ntpTests = -1;
    private uint _lastSampleReferenceId;
    private string _stopReason = "";
    private string _lastAuthenticationError = "";
    private SourceSelection? _selection;

    /// <summary>Creates the source; the first request is due at once.</summary>
    /// <param name="definition">The <c>server</c> or <c>pool</c> line.</param>
    /// <param name="name">The name shown in the views (the host name, or the address for a pool member).</param>
    /// <param name="address">The server's address and port, or null until the name resolves.</param>
    /// <param name="authenticator">How requests are protected and responses checked.</param>
    /// <param name="clock">The local clock: its precision, and now for scheduling.</param>
    /// <param name="random">Random numbers for the transmit timestamps, for reproducible tests; null uses the system's cryptographic generator.</param>
    /// <param name="logger">Where kiss-o'-death, stops and NAKs are logged.</param>
    public NtpSource(
        SourceDefinition definition,
        string name,
        IPEndPoint? address,
        IRequestAuthenticator authenticator,
        ISystemClock clock,
        Random? random = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(authenticator);
        ArgumentNullException.ThrowIfNull(clock);
        if (definition.MinPoll < SourceDefinition.LowestPoll || definition.MaxPoll > SourceDefinition.HighestPoll || definition.MinPoll > definition.MaxPoll)
        {
            throw new ArgumentException(
                $"minpoll {definition.MinPoll} and maxpoll {definition.MaxPoll} must satisfy {SourceDefinition.LowestPoll} <= minpoll <= maxpoll <= {SourceDefinition.HighestPoll}",
                nameof(definition));
        }

        if (definition.Version is < 1 or > 4)
        {
            throw new ArgumentException($"NTP version {definition.Version} is not 1 to 4", nameof(definition));
        }

        Definition = definition;
        Name = name;
        Authenticator = authenticator;
        _clock = clock;
        _random = random;
        _logger = logger ?? NullLogger.Instance;
        _localPrecision = OnWireMeasurement.PrecisionToSeconds(clock.Precision);
        _filter = new ClockFilter(_localPrecision);
        _address = address;
        _referenceId = address is null ? 0 : ComputeReferenceId(address.Address);
        Reset();
    }

    /// <summary>Raised after each accepted response, once the sample is in <see cref="Statistics"/> (the return value of <see cref="ProcessResponse"/> says the same).</summary>
    public event Action<NtpSource>? SampleAccepted;

    /// <summary>The configuration line.</summary>
    public SourceDefinition Definition { get; }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>How requests are protected and responses checked.</summary>
    public IRequestAuthenticator Authenticator { get; }

    /// <inheritdoc/>
    public SourceStatistics Statistics { get; } = new();

    /// <summary>
    /// The server's address, null while unresolved. Setting a different address (a pool member replaced, a name
    /// resolved again) calls <see cref="Reset"/>: the samples of another server mean nothing here.
    /// </summary>
    public IPEndPoint? Address
    {
        get => _address;
        set
        {
            if (Equals(_address, value))
            {
                return;
            }

            _address = value;
            _referenceId = value is null ? 0 : ComputeReferenceId(value.Address);
            Reset();
        }
    }

    /// <summary>
    /// The reference id that names this source in our own packets when it is our system peer (RFC 5905 §7.3): its IPv4
    /// address, or the first four bytes of the MD5 of its IPv6 address; 0 while unresolved.
    /// </summary>
    public uint ReferenceId => _referenceId;

    /// <summary>Local Unix nanoseconds when the next request is due (also while one is outstanding: the one after).</summary>
    public long NextPollNs { get; private set; }

    /// <summary>Whether the last authentic response's T1 was the kernel's transmit timestamp (<see cref="SetKernelTransmitTime"/>).</summary>
    public bool LastKernelTransmitTimestamp { get; private set; }

    /// <summary>Whether a request is outstanding.</summary>
    /// <remarks>See also <see cref="AwaitingResponseHasKernelTransmitTime"/>.</remarks>
    public bool AwaitingResponse { get; private set; }

    /// <summary>Whether the outstanding request's T1 is already the kernel's transmit timestamp.</summary>
    public bool AwaitingResponseHasKernelTransmitTime => AwaitingResponse && _kernelTransmitTimestamp;

    /// <summary>When the outstanding request times out (local Unix ns); meaningful while <see cref="AwaitingResponse"/>.</summary>
    public long ResponseDeadlineNs => _txLocalNs + (long)ResponseTimeout.TotalNanoseconds;

    /// <summary>How long a request waits for its response: the current polling interval, at most <see cref="MaxResponseTimeoutSeconds"/>.</summary>
    public TimeSpan ResponseTimeout => TimeSpan.FromTicks(Math.Min(IntervalNs, (long)(MaxResponseTimeoutSeconds * NanosecondsPerSecond)) / 100);

    /// <summary>The 8-bit reachability register: bit 0 is the last poll, set when it got an authentic, synchronized answer.</summary>
    public byte Reach { get; private set; }

    /// <summary>The poll exponent now, log2 seconds.</summary>
    public int Poll { get; private set; }

    /// <summary>Whether the source is polled (chronyc's online/offline). Taking it offline abandons an outstanding request.</summary>
    public bool IsOnline
    {
        get;
        set
        {
            field = value;
            if (!value)
            {
                AwaitingResponse = false;
            }
        }
    } = true;

    /// <summary>Whether the <c>iburst</c> requests are still being sent.</summary>
    public bool InBurst { get; private set; }

    /// <summary>Whether a DENY or RSTR kiss-o'-death stopped the source (<see cref="StopReason"/> says which); <see cref="Reset"/> restarts it.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Why the source stopped; empty while it runs.</summary>
    public string StopReason => _stopReason;

    /// <summary>
    /// The newest accepted sample, or null: its offset as measured (<see cref="SourceReport.AdjustedOffset"/> has it
    /// adjusted for the clock corrections since), its time moved onto the corrected timescale.
    /// </summary>
    public NtpSample? LastSample { get; private set; }

    /// <summary>Samples accepted since the start or the last <see cref="Reset"/>.</summary>
    public int SamplesAccepted { get; private set; }

    /// <summary>Requests sent.</summary>
    public long TotalTx { get; private set; }

    /// <summary>Datagrams passed to <see cref="ProcessResponse"/>.</summary>
    public long TotalRx { get; private set; }

    /// <summary>Responses that matched the request and passed authentication.</summary>
    public long TotalValidRx { get; private set; }

    /// <summary>Responses that matched the request but failed authentication.</summary>
    public long AuthenticationFailures { get; private set; }

    /// <summary>The last kiss-o'-death code received ("RATE", "DENY"...), empty when none.</summary>
    public string LastKissCode { get; private set; } = "";

    private long IntervalNs => InBurst ? BurstIntervalSeconds * NanosecondsPerSecond : PollToNs(Poll);

    private int MaxPollNow => Math.Max(Definition.MaxPoll, _minPoll);

    /// <summary>
    /// Writes the next request when one is due: online, resolved, not stopped, <paramref name="localNowNs"/> at or past
    /// <see cref="NextPollNs"/>, and the authenticator able to send (NTS needs cookies). An outstanding request past its
    /// deadline is timed out first. The transmit timestamp is random (as chrony's), so it reveals nothing about our
    /// clock and an off-path attacker cannot guess the origin a response must echo; our send time T1 is kept aside.
    /// </summary>
    /// <param name="destination">The send buffer, at least <see cref="MinRequestBufferLength"/> bytes.</param>
    /// <param name="localNowNs">Now on the local clock (Unix ns): T1.</param>
    /// <returns>The request's length, or 0 when nothing is to be sent now.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="MinRequestBufferLength"/>.</exception>
    public int BuildRequest(Span<byte> destination, long localNowNs)
    {
        if (destination.Length < MinRequestBufferLength)
        {
            throw new ArgumentException($"the request buffer must hold {MinRequestBufferLength} bytes, it has {destination.Length}", nameof(destination));
        }

        if (AwaitingResponse && localNowNs >= ResponseDeadlineNs)
        {
            OnTimeout(localNowNs);
        }

        if (Stopped || !IsOnline || _address is null || AwaitingResponse || localNowNs < NextPollNs)
        {
            return 0;
        }

        if (!Authenticator.CanSend)
        {
            // Due, but nothing can be sent (NTS without cookies while NTS-KE fails or backs off): like chrony, that
            // is a missed poll, once per interval, so the source becomes unreachable instead of steering the clock
            // with ever older samples. NextPollNs stays, so the request goes out as soon as a session arrives.
            if (localNowNs >= _nextMissedPollNs)
            {
                _nextMissedPollNs = localNowNs + IntervalNs;
                Reach = (byte)(Reach << 1);
                _goodStreak = 0;
                if ((Reach & 0b111) == 0 && _filter.ValidCount > 0)
                {
                    _filter.AddDummy(localNowNs, PollToNs(Poll) / 1e9);
                }
            }

            return 0;
        }

        NtpTimestamp transmit = RandomTimestamp();
        _requestVersion = (byte)Definition.Version;
        var header = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = _requestVersion,
            Mode = NtpMode.Client,
            Poll = (sbyte)Poll,
            Precision = _clock.Precision,
            TransmitTimestamp = transmit,
        };
        int length = Authenticator.WriteRequest(destination, header);
        _transmit = transmit;
        _t1 = NtpTimestamp.FromUnixTimeNanoseconds(localNowNs);
        _txLocalNs = localNowNs;
        _kernelTransmitTimestamp = false;
        AwaitingResponse = true;
        TotalTx++;
        if (InBurst)
        {
            _burstSent++;
        }

        NextPollNs = localNowNs + IntervalNs;
        return length;
    }

    /// <summary>
    /// Replaces the outstanding request's T1, read just before the send, with when the datagram actually left (the
    /// kernel's transmit timestamp, on the local clock). Time spent between the two (building the request, the send
    /// call, preemption) lies on the request's side of the path only, so left in T1 half of it becomes offset. A
    /// timestamp more than <see cref="MaxTransmitTimestampLeadNs"/> before the read T1 or more than
    /// <see cref="MaxTransmitTimestampLagNs"/> after it is not the request's and is ignored, as is one when no request is
    /// outstanding.
    /// </summary>
    /// <param name="localNs">When the request left, Unix ns on the local clock.</param>
    /// <returns>Whether T1 is now the kernel's.</returns>
    public bool SetKernelTransmitTime(long localNs)
    {
        long lag = localNs - _txLocalNs;
        if (!AwaitingResponse || lag < -MaxTransmitTimestampLeadNs || lag > MaxTransmitTimestampLagNs)
        {
            return false;
        }

        _txLocalNs = localNs;
        _t1 = NtpTimestamp.FromUnixTimeNanoseconds(localNs);
        _kernelTransmitTimestamp = true;
        return true;
    }

    /// <summary>
    /// Processes a datagram from the server. Only an authentic answer to the outstanding request completes the poll;
    /// see <see cref="SourceResponseOutcome"/> for each outcome.
    /// </summary>
    /// <param name="datagram">The received datagram.</param>
    /// <param name="t4">When it arrived on the local clock (the kernel's receive timestamp when there is one).</param>
    /// <param name="localNowNs">Now on the local clock (Unix ns), the pivot for <paramref name="t4"/>'s era.</param>
    /// <param name="kernelTimestamp">Whether <paramref name="t4"/> came from the kernel (shown by <c>ntpdata</c>).</param>
    /// <returns>What the datagram was.</returns>
    public SourceResponseOutcome ProcessResponse(ReadOnlySpan<byte> datagram, NtpTimestamp t4, long localNowNs, bool kernelTimestamp = true)
    {
        TotalRx++;
        if (NtpPacketHeader.TryRead(datagram, out NtpPacketHeader header) != NtpParseStatus.Ok)
        {
            return SourceResponseOutcome.Invalid;
        }

        // RFC 5905 §8 test 1 (duplicate: no request outstanding) and test 2 (bogus: origin is not our transmit).
        bool test1 = AwaitingResponse;
        bool test2 = header.Mode == NtpMode.Server && header.OriginTimestamp == _transmit;
        if (!test1 || !test2)
        {
            SetTests(test1, test2, true, true, true, true, true);
            return SourceResponseOutcome.Ignored;
        }

        if (!Authenticator.Verify(datagram, out header, out string? failure))
        {
            AuthenticationFailures++;
            _lastAuthenticationError = failure ?? "";
            SetTests(true, true, true, false, true, true, true);
            LogAuthenticationFailed(_logger, Name, _lastAuthenticationError);
            return SourceResponseOutcome.AuthenticationFailed;
        }

        TotalValidRx++;
        AwaitingResponse = false;
        _lastHeader = header;
        _haveHeader = true;
        _lastAuthenticated = Authenticator.Kind != SourceAuthentication.None;
        _lastKernelTimestamp = kernelTimestamp;
        LastKernelTransmitTimestamp = _kernelTransmitTimestamp;
        _lastResponseTime = NtpTimestamp.FixedToSeconds(header.TransmitTimestamp - header.ReceiveTimestamp);

        if (header.IsKissOfDeath)
        {
            return ProcessKiss(header);
        }

        // Test 3: the server's timestamps are set and in order. Test 6: the server is synchronized. Test 7: the header
        // is sane (our version echoed, root delay and dispersion below MAXDISP).
        bool test3 = !header.ReceiveTimestamp.IsZero && !header.TransmitTimestamp.IsZero && header.TransmitTimestamp - header.ReceiveTimestamp >= 0;
        bool test6 = header.Leap != LeapIndicator.Unsynchronized && header.Stratum is > 0 and < 16;
        bool test7 = header.Version == _requestVersion
            && header.RootDelay.ToSeconds() < MaxDispersion
            && header.RootDispersion.ToSeconds() < MaxDispersion;
        if (!test3 || !test6 || !test7)
        {
            SetTests(true, true, test3, true, test6, test7, true);
            EndPoll(reached: false);
            return SourceResponseOutcome.Invalid;
        }

        OnWireMeasurement m = OnWireMeasurement.FromTimestamps(
            _t1, header.ReceiveTimestamp, header.TransmitTimestamp, t4, OnWireMeasurement.PrecisionToSeconds(header.Precision), _localPrecision);

        // Test A: chrony's maxdelay.
        bool testA = m.Delay <= Definition.MaxDelay;
        SetTests(true, true, true, true, true, true, testA);
        if (!testA)
        {
            Jittery();
            EndPoll(reached: true);
            return SourceResponseOutcome.Filtered;
        }

        var sample = new NtpSample(
            t4.ToUnixTimeNanoseconds(localNowNs),
            m.Offset,
            m.Delay,
            m.Dispersion,
            header.RootDelay.ToSeconds(),
            header.RootDispersion.ToSeconds(),
            header.Stratum,
            header.Leap);

        if (Statistics.SampleCount > 0 && sample.LocalTimeNs <= Statistics.LastSampleTimeNs)
        {
            // The local clock went back without OnClockCorrected: the kept samples are on another timescale.
            Statistics.Clear();
            _filter.Reset();
        }

        ClockFilterResult filtered = _filter.Add(sample, PollToNs(Poll) / 1e9);
        // The popcorn spike suppressor needs a jitter estimate to compare with: with fewer than MinSamplesForSpikes in
        // the register the jitter is the precision floor, and the second sample of a burst would be taken for a spike.
        if (filtered.Outcome == ClockFilterOutcome.Spike && filtered.Sample.LocalTimeNs == sample.LocalTimeNs
            && _filter.ValidCount >= MinSamplesForSpikes)
        {
            Jittery();
            EndPoll(reached: true);
            return SourceResponseOutcome.Filtered;
        }

        Statistics.AddSample(sample);
        LastSample = sample;
        _lastAdjustedOffset = sample.Offset;
        _lastRxLocalNs = sample.LocalTimeNs;
        _lastSampleReferenceId = header.ReferenceId;
        SamplesAccepted++;

        // Burst samples come 2 s apart whatever the poll: they say nothing about how long the poll may be.
        if (!InBurst && ++_goodStreak >= PollIncreaseSamples)
        {
            Poll = Math.Min(Poll + 1, MaxPollNow);
            _goodStreak = 0;
        }

        EndPoll(reached: true);
        SampleAccepted?.Invoke(this);
        return SourceResponseOutcome.Accepted;
    }

    /// <summary>
    /// The outstanding request got no authentic answer in time: the reachability register shifts in a 0, and after two
    /// silent polls in a row the poll exponent goes down by one (to at least <c>minpoll</c>). After three, the clock
    /// filter gets a dummy sample (RFC 5905 §10). Does nothing when no request is outstanding.
    /// </summary>
    /// <param name="localNowNs">Now on the local clock, Unix ns.</param>
    public void OnTimeout(long localNowNs)
    {
        if (!AwaitingResponse)
        {
            return;
        }

        AwaitingResponse = false;
        EndPoll(reached: false);
        _goodStreak = 0;
        if ((Reach & 0b11) == 0 && !InBurst)
        {
            Poll = Math.Max(Poll - 1, _minPoll);
        }

        if ((Reach & 0b111) == 0 && _filter.ValidCount > 0)
        {
            _filter.AddDummy(localNowNs, PollToNs(Poll) / 1e9);
        }
    }

    /// <summary>
    /// Forgets everything learned from the server: samples, reachability, poll, burst (restarted with <c>iburst</c>),
    /// counters, a stop, the outstanding request. The next request is due at once. Called when the address changes.
    /// </summary>
    public void Reset()
    {
        _filter.Reset();
        Statistics.Clear();
        Reach = 0;
        _nextMissedPollNs = 0;
        _minPoll = Definition.MinPoll;
        Poll = _minPoll;
        _goodStreak = 0;
        InBurst = Definition.IBurst;
        _burstSent = 0;
        AwaitingResponse = false;
        _transmit = default;
        Stopped = false;
        _stopReason = "";
        LastSample = null;
        SamplesAccepted = 0;
        TotalTx = 0;
        TotalRx = 0;
        TotalValidRx = 0;
        AuthenticationFailures = 0;
        LastKissCode = "";
        _haveHeader = false;
        _lastHeader = default;
        _lastAdjustedOffset = 0;
        _lastRxLocalNs = 0;
        _ntpTests = -1;
        _lastSampleReferenceId = 0;
        _lastAuthenticationError = "";
        _selection = null;
        NextPollNs = _clock.UnixNanoseconds;
    }

    /// <inheritdoc/>
    public SelectionCandidate ToCandidate(long localNowNs)
    {
        var options = Definition.SelectOptions;
        if (LastSample is not NtpSample last || Statistics.SampleCount == 0)
        {
            return new SelectionCandidate(
                Name: Name,
                Authentication: Authenticator.Kind,
                Options: options,
                Reachable: false,
                Stratum: _haveHeader ? _lastHeader.Stratum : 16,
                Leap: LeapIndicator.Unsynchronized,
                Offset: 0,
                RootDistance: MaxDispersion,
                ReferenceId: _referenceId);
        }

        ClockFilterResult filtered = _filter.Last;
        bool haveFiltered = filtered.Outcome != ClockFilterOutcome.NoValidSample && filtered.Sample.LocalTimeNs != 0;
        double offset = Statistics.HasRegression || !haveFiltered ? Statistics.EstimatedOffsetAt(localNowNs) : filtered.Sample.Offset;
        double jitter = haveFiltered ? filtered.Jitter : _localPrecision;

        // Root delay and dispersion from the kept sample that bounds the offset best now, its dispersion grown at PHI
        // (RFC 5905 §11.2.1), as chrony takes its best single sample. Not the clock filter's lowest-delay pick: at a
        // long poll that pick can be eight polls old, and its aged dispersion (PHI × 8 × 1024 s ≈ 0.12 s) made the
        // selection interval and the root dispersion we serve grow to tens of milliseconds after a few hours.
        Statistics.TryGetRootEstimates(localNowNs, OnWireMeasurement.Phi, out double rootDelay, out double sampleRootDispersion);

        // The offset's own uncertainty: the regression's 95 % bound once there is one (it covers the scatter the
        // filter's jitter measures), else the jitter. The served root dispersion adds its one-sigma part, as chrony's
        // tracking does with offset_sd.
        double statisticsError = Statistics.HasRegression ? Math.Min(Statistics.OffsetErrorBoundAt(localNowNs), MaxDispersion) : jitter;
        double rootDispersion = sampleRootDispersion + (Statistics.HasRegression ? Statistics.OffsetStandardErrorAt(localNowNs) : jitter);
        double distance = Math.Min(rootDelay / 2 + sampleRootDispersion + statisticsError, MaxDispersion);
        return new SelectionCandidate(
            Name: Name,
            Authentication: Authenticator.Kind,
            Options: options,
            Reachable: Reach != 0 && !Stopped,
            Stratum: last.Stratum,
            Leap: last.Leap,
            Offset: offset,
            RootDistance: distance,
            RootDelay: rootDelay,
            RootDispersion: Math.Min(rootDispersion, MaxDispersion),
            ReferenceId: _referenceId,
            Jitter: Statistics.HasRegression ? Statistics.StandardDeviationSeconds : jitter,
            UpstreamReferenceId: _lastSampleReferenceId);
    }

    /// <inheritdoc/>
    public void OnClockCorrected(long localNowNs, double frequencyChangePpm, double offsetCorrection)
    {
        if (!double.IsFinite(frequencyChangePpm) || !double.IsFinite(offsetCorrection))
        {
            throw new ArgumentOutOfRangeException(nameof(offsetCorrection), $"A clock correction must be finite: frequency change {frequencyChangePpm} ppm, offset {offsetCorrection} s.");
        }

        Statistics.ApplyCorrection(localNowNs, frequencyChangePpm, offsetCorrection);
        _filter.ApplyCorrection(localNowNs, frequencyChangePpm, offsetCorrection);
        if (LastSample is not null)
        {
            // The same shift as the kept samples get (chrony's SST_SlewSamples): as if the correction had always been in force.
            double shift = offsetCorrection - frequencyChangePpm * 1e-6 * ((localNowNs - _lastRxLocalNs) / 1e9);
            _lastRxLocalNs += (long)Math.Round(shift * 1e9);
            _lastAdjustedOffset -= shift;
            LastSample = LastSample.Value with { LocalTimeNs = _lastRxLocalNs };
        }

        if (AwaitingResponse)
        {
            // The outstanding request's T1 moves too (chrony's NCR slew handler adjusts local_tx), or a response
            // arriving after a step would carry half the step as offset.
            double shift = offsetCorrection - frequencyChangePpm * 1e-6 * ((localNowNs - _txLocalNs) / 1e9);
            _txLocalNs += (long)Math.Round(shift * 1e9);
            _t1 = NtpTimestamp.FromUnixTimeNanoseconds(_txLocalNs);
        }

        // The schedule is on the local timescale too: a clock stepped back by a day must not wait a day for its next
        // poll, nor one stepped forward poll at once.
        long scheduleShift = (long)Math.Round(offsetCorrection * 1e9);
        NextPollNs += scheduleShift;
        if (_nextMissedPollNs != 0)
        {
            _nextMissedPollNs += scheduleShift;
        }
    }

    /// <inheritdoc/>
    public void OnSelected(SourceSelection selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        _selection = selection;
    }

    /// <inheritdoc/>
    public SourceReport Report(long localNowNs)
    {
        SelectionCandidate candidate = ToCandidate(localNowNs);
        NtpSample sample = LastSample ?? default;
        bool haveSample = LastSample is not null;
        var report = new SourceReport
        {
            Name = Name,
            Address = _address?.Address.ToString() ?? "",
            Port = _address?.Port ?? Definition.Port,
            Pool = Definition.Kind == SourceKind.Pool ? Definition.Host : null,
            Activity = _address is null ? SourceActivity.UnresolvedAddress
                : !IsOnline || Stopped ? SourceActivity.Offline
                : InBurst ? SourceActivity.BurstOnline
                : SourceActivity.Online,
            SelectOptions = Definition.SelectOptions,
            Status = _selection?.Status ?? SourceSelectionStatus.Unreachable,
            StatusReason = Stopped ? _stopReason : _selection?.Reason ?? (Reach == 0 ? "no response yet" : "not selected yet"),
            Stratum = _haveHeader ? _lastHeader.Stratum : 0,
            Poll = Poll,
            Reach = Reach,
            LastRxAgo = haveSample ? Math.Max(0, (localNowNs - _lastRxLocalNs) / 1e9) : -1,
            AdjustedOffset = _lastAdjustedOffset,
            MeasuredOffset = sample.Offset,
            ErrorBound = haveSample ? sample.Distance : 0,

            SampleCount = Statistics.SampleCount,
            Runs = Statistics.Runs,
            SpanSeconds = Statistics.SpanSeconds,
            FrequencyPpm = Statistics.FrequencyPpm,
            SkewPpm = Statistics.SkewPpm,
            EstimatedOffset = Statistics.SampleCount > 0 ? Statistics.EstimatedOffsetAt(localNowNs) : 0,
            StandardDeviation = Statistics.StandardDeviationSeconds,

            IntervalLow = candidate.Offset - candidate.RootDistance,
            IntervalHigh = candidate.Offset + candidate.RootDistance,
            RootDistance = candidate.RootDistance,

            Authentication = Authenticator.Kind,
            LastAuthenticationError = _lastAuthenticationError,
            AuthenticationFailures = AuthenticationFailures,

            Leap = _haveHeader ? _lastHeader.Leap : LeapIndicator.Unsynchronized,
            Version = _haveHeader ? _lastHeader.Version : 0,
            Mode = _haveHeader ? (int)_lastHeader.Mode : 0,
            Precision = _haveHeader ? _lastHeader.Precision : 0,
            SourceRootDelay = _haveHeader ? _lastHeader.RootDelay.ToSeconds() : 0,
            SourceRootDispersion = _haveHeader ? _lastHeader.RootDispersion.ToSeconds() : 0,
            SourceReferenceId = _haveHeader ? _lastHeader.ReferenceId : 0,
            SourceReferenceTimeUnixNs = _haveHeader && !_lastHeader.ReferenceTimestamp.IsZero ? _lastHeader.ReferenceTimestamp.ToUnixTimeNanoseconds(localNowNs) : 0,
            PeerDelay = sample.Delay,
            PeerDispersion = sample.Dispersion,
            ResponseTime = _haveHeader ? _lastResponseTime : 0,
            NtpTests = FormatTests(_ntpTests),
            LastResponseAuthenticated = _haveHeader && _lastAuthenticated,
            KernelRxTimestamp = _haveHeader && _lastKernelTimestamp,
            KernelTxTimestamp = _haveHeader && LastKernelTransmitTimestamp,
            TotalTx = TotalTx,
            TotalRx = TotalRx,
            TotalValidRx = TotalValidRx,
            LastKissCode = LastKissCode,
        };

        return Authenticator switch
        {
            SymmetricKeyAuthenticator sk => report with
            {
                KeyId = sk.Key.Id,
                KeyType = MacAlgorithms.ChronyName(sk.Key.Algorithm),
                KeyBits = sk.Key.KeyLengthBits,
            },
            NtsAuthenticator nts => report with
            {
                KeyType = nts.Session is { } s ? AeadName(s.Algorithm) : "",
                KeyBits = nts.Session is { } k ? k.C2SKey.Length * 8 : 0,
                NtsKeAgo = nts.Session is null ? -1 : Math.Max(0, (_clock.UnixNanoseconds - nts.SessionEstablishedUnixNs) / 1e9),
                NtsKeAttempts = nts.KeyExchangeAttempts,
                NtsNaks = nts.NaksReceived,
                NtsCookies = nts.CookieCount,
                NtsCookieLength = nts.CookieLength,
                LastAuthenticationError = _lastAuthenticationError.Length > 0 ? _lastAuthenticationError : nts.LastError,
            },
            _ => report,
        };
    }

    /// <summary>The RFC 5905 §7.3 reference id of a server address: IPv4 as is, IPv6 as the first four bytes of its MD5.</summary>
    /// <param name="address">The server's address (an IPv4-mapped IPv6 address counts as IPv4).</param>
    /// <returns>The reference id.</returns>
    public static uint ComputeReferenceId(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return Protocol.ReferenceId.FromIPv4(bytes[..written]);
        }

        // RFC 5905 §7.3: for IPv6 the first four octets of the MD5 hash of the address. Not a security use.
        Span<byte> hash = stackalloc byte[16];
#pragma warning disable CA5351
        MD5.HashData(bytes[..written], hash);
#pragma warning restore CA5351
        return BinaryPrimitives.ReadUInt32BigEndian(hash);
    }

    private static string AeadName(Protocol.NtsAeadAlgorithm algorithm) => algorithm switch
    {
        Protocol.NtsAeadAlgorithm.AesSivCmac256 => "AES-SIV-CMAC-256",
        Protocol.NtsAeadAlgorithm.AesSivCmac384 => "AES-SIV-CMAC-384",
        Protocol.NtsAeadAlgorithm.AesSivCmac512 => "AES-SIV-CMAC-512",
        Protocol.NtsAeadAlgorithm.Aes128GcmSiv => "AES-128-GCM-SIV",
        _ => string.Create(CultureInfo.InvariantCulture, $"AEAD {(ushort)algorithm}"),
    };

    private static long PollToNs(int poll) => poll >= 0 ? NanosecondsPerSecond << poll : NanosecondsPerSecond >> -poll;

    private SourceResponseOutcome ProcessKiss(in NtpPacketHeader header)
    {
        uint code = header.ReferenceId;
        LastKissCode = KissCode.Format(code);
        SetTests(true, true, true, true, false, true, true);
        EndPoll(reached: false);
        switch (code)
        {
            case KissCode.Ntsn when Authenticator.Kind == SourceAuthentication.Nts:
                LogNtsNak(_logger, Name);
                return SourceResponseOutcome.NtsNak;

            case KissCode.Rate:
                // RFC 5905 §7.4: reduce the rate. chrony: at least double the interval, never poll faster than the
                // server asks, and keep that floor.
                int asked = Math.Clamp((int)header.Poll, SourceDefinition.LowestPoll, SourceDefinition.HighestPoll);
                _minPoll = Math.Max(_minPoll, asked);
                Poll = Math.Min(Math.Max(Poll + 1, _minPoll), SourceDefinition.HighestPoll);
                InBurst = false;
                _goodStreak = 0;
                NextPollNs = _txLocalNs + IntervalNs;
                LogKissRate(_logger, Name, Poll);
                return SourceResponseOutcome.KissRate;

            case KissCode.Deny or KissCode.Rstr:
                // RFC 5905 §7.4: the client must stop sending to the server.
                Stopped = true;
                InBurst = false;
                _stopReason = $"stopped: the server sent a kiss-o'-death {LastKissCode} ({KissCode.Describe(code)})";
                LogStopped(_logger, Name, LastKissCode);
                return code == KissCode.Deny ? SourceResponseOutcome.KissDeny : SourceResponseOutcome.KissRstr;

            default:
                return SourceResponseOutcome.KissOther;
        }
    }

    // A poll is over (answered or not): shift the reachability register, advance the burst, schedule the next request.
    private void EndPoll(bool reached)
    {
        AwaitingResponse = false;
        Reach = (byte)((Reach << 1) | (reached ? 1 : 0));
        if (InBurst && _burstSent >= BurstRequests)
        {
            InBurst = false;
        }

        NextPollNs = _txLocalNs + IntervalNs;
    }

    private void Jittery()
    {
        _goodStreak = 0;
        if (!InBurst)
        {
            Poll = Math.Max(Poll - 1, _minPoll);
        }
    }

    // Packed per response (no allocation on the packet path); formatted only for the views.
    private void SetTests(bool t1, bool t2, bool t3, bool t5, bool t6, bool t7, bool tA) =>
        _ntpTests = (t1 ? 1 : 0) | (t2 ? 2 : 0) | (t3 ? 4 : 0) | (t5 ? 8 : 0) | (t6 ? 16 : 0) | (t7 ? 32 : 0) | (tA ? 64 : 0);

    // chronyc ntpdata's "NTP tests" column: tests 1-3, 5-7, then A-D. B (maxdelayratio), C (maxdelaydevratio) and D
    // (synchronization loop, which selection checks) have nothing to fail here and read 1, as in chrony.
    private static string FormatTests(int bits) => bits < 0 ? "" : string.Create(12, bits, static (s, b) =>
    {
        s[0] = (b & 1) != 0 ? '1' : '0';
        s[1] = (b & 2) != 0 ? '1' : '0';
        s[2] = (b & 4) != 0 ? '1' : '0';
        s[3] = ' ';
        s[4] = (b & 8) != 0 ? '1' : '0';
        s[5] = (b & 16) != 0 ? '1' : '0';
        s[6] = (b & 32) != 0 ? '1' : '0';
        s[7] = ' ';
        s[8] = (b & 64) != 0 ? '1' : '0';
        s[9] = '1';
        s[10] = '1';
        s[11] = '1';
    });

    private NtpTimestamp RandomTimestamp()
    {
        ulong value;
        Span<byte> bytes = stackalloc byte[8];
        do
        {
            if (_random is not null)
            {
                value = (ulong)_random.NextInt64() ^ ((ulong)_random.Next() << 63);
            }
            else
            {
                RandomNumberGenerator.Fill(bytes);
                value = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            }
        }
        while (value == 0 || value == _transmit.Value);

        return new NtpTimestamp(value);
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Debug, Message = "{Source}: response failed authentication: {Reason}")]
    private static partial void LogAuthenticationFailed(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "{Source}: kiss-o'-death RATE, poll raised to {Poll}")]
    private static partial void LogKissRate(ILogger logger, string source, int poll);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "{Source}: kiss-o'-death {Code}, source stopped (RFC 5905 §7.4)")]
    private static partial void LogStopped(ILogger logger, string source, string code);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "{Source}: NTS NAK, cookies dropped: NTS-KE needed")]
    private static partial void LogNtsNak(ILogger logger, string source);
}
