using Tempus.Clock;
using Tempus.Control;
using Tempus.Protocol;
using Tempus.Selection;
using Tempus.Server;
using Tempus.Sources;

namespace Tempus.Discipline;

/// <summary>
/// The synchronization engine: the sources, selection and the clock discipline tied together. Each
/// <see cref="Update"/> asks every source for its candidate, runs <see cref="SourceSelector.Select"/>, gives each source
/// its verdict, and when the system peer has a new sample updates the clock from it; every correction is passed on
/// to every source (<see cref="IMeasuredSource.OnClockCorrected"/>). It also answers what our NTP server advertises
/// (<see cref="Reference"/>) and what <c>tempusctl tracking</c> shows.
/// </summary>
/// <remarks>
/// Not thread-safe, by design: it is a state machine driven by one caller. The daemon serializes every call (source
/// updates, <see cref="Update"/>, <see cref="MakeStep"/>, the views) under one lock; the simulation calls it from one
/// thread. <see cref="Reference"/> is the exception the server needs on its own threads: it reads an immutable
/// snapshot replaced atomically after each update, so it takes no lock.
/// </remarks>
public sealed class SyncEngine
{
    private readonly List<IMeasuredSource> _sources = [];
    private readonly Dictionary<IMeasuredSource, long> _sampleUsed = new(ReferenceEqualityComparer.Instance);
    private readonly int? _localStratum;
    private volatile ReferenceSnapshot _reference = ReferenceSnapshot.Unsynchronized;

    /// <summary>Creates an engine with no sources.</summary>
    /// <param name="control">The clock's write side.</param>
    /// <param name="rawClock">The clock <paramref name="control"/> corrects, read side (for <c>-x</c>, the control's
    /// corrected clock). The engine reads it through <see cref="Clock"/>, which adds the slew in progress.</param>
    /// <param name="selection">The selection directives.</param>
    /// <param name="discipline">The discipline directives (loads the drift file if one is configured).</param>
    /// <param name="localStratum"><c>local stratum N</c>: what to serve while unsynchronized; null serves leap 3.</param>
    public SyncEngine(IClockControl control, ISystemClock rawClock, SelectionOptions selection, DisciplineOptions discipline, int? localStratum = null)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(rawClock);
        ArgumentNullException.ThrowIfNull(selection);
        ArgumentNullException.ThrowIfNull(discipline);
        if (localStratum is < 1 or > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(localStratum), localStratum, "local stratum must be 1 to 15.");
        }

        Control = control;
        Clock = new CookedClock(rawClock, control);
        SelectionOptions = selection;
        _localStratum = localStratum;
        Discipline = new ClockDiscipline(control, discipline, OnClockCorrected);
        Tracking = Discipline.Report(Clock.UnixNanoseconds);
    }

    /// <summary>The clock's write side.</summary>
    public IClockControl Control { get; }

    /// <summary>The time sources and the server must read: the local clock plus the slew in progress.</summary>
    public ISystemClock Clock { get; }

    /// <summary>The selection directives.</summary>
    public SelectionOptions SelectionOptions { get; }

    /// <summary>The clock discipline (drift file, maxchange state, counters).</summary>
    public ClockDiscipline Discipline { get; }

    /// <summary>The sources, in the order they were added (the order selection sees them in).</summary>
    public IReadOnlyList<IMeasuredSource> Sources => _sources;

    /// <summary>
    /// <c>leapsectz</c>/<c>leapseclist</c>: when the sources announce no leap second, this table may (as chrony does,
    /// for sources that announce late or never). Null: the sources' vote alone.
    /// </summary>
    public LeapSecondFile? LeapSeconds { get; set; }

    /// <summary>The outcome of the last selection, or null before the first <see cref="Update"/>.</summary>
    public SelectionResult? LastSelection { get; private set; }

    /// <summary>The tracking view as of the last <see cref="Update"/> (or construction).</summary>
    public TrackingReport Tracking { get; private set; }

    /// <summary>Whether something changed that selection has not seen yet (a source added or removed, a reselect asked
    /// for); the daemon runs <see cref="Update"/> when it is set.</summary>
    public bool ReselectNeeded { get; private set; }

    /// <summary>Adds a source; it takes part from the next <see cref="Update"/>.</summary>
    /// <param name="source">The source; names must be unique.</param>
    /// <exception cref="ArgumentException">A source with the same name is already there.</exception>
    public void AddSource(IMeasuredSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        foreach (IMeasuredSource existing in _sources)
        {
            if (string.Equals(existing.Name, source.Name, StringComparison.Ordinal))
            {
                throw new ArgumentException($"A source named {source.Name} is already configured.", nameof(source));
            }
        }

        _sources.Add(source);
        ReselectNeeded = true;
    }

    /// <summary>Removes a source; if it was the system peer, the next <see cref="Update"/> selects another.</summary>
    /// <param name="source">The source to remove.</param>
    /// <returns>Whether it was there.</returns>
    public bool RemoveSource(IMeasuredSource source)
    {
        bool removed = _sources.Remove(source);
        _sampleUsed.Remove(source);
        ReselectNeeded |= removed;
        return removed;
    }

    /// <summary><c>tempusctl reselect</c>: run selection at the next opportunity even without new samples.</summary>
    public void RequestReselect() => ReselectNeeded = true;

    /// <summary>
    /// Selection and, when the system peer has a sample the clock has not been updated from, a clock update
    /// (chrony updates the reference only on a new sample of the selected source; none within 5 s of an armed leap
    /// second). Call it after each new sample and when <see cref="ReselectNeeded"/>.
    /// </summary>
    /// <param name="localNowNs">Now on <see cref="Clock"/>, Unix ns.</param>
    /// <returns>What the discipline did, or null when the clock was not updated.</returns>
    public DisciplineAction? Update(long localNowNs)
    {
        ReselectNeeded = false;
        var candidates = new SelectionCandidate[_sources.Count];
        for (int i = 0; i < candidates.Length; i++)
        {
            candidates[i] = _sources[i].ToCandidate(localNowNs);
        }

        SelectionResult result = SourceSelector.Select(candidates, SelectionOptions);
        LastSelection = result;
        for (int i = 0; i < _sources.Count; i++)
        {
            _sources[i].OnSelected(result.Sources[i]);
        }

        DisciplineAction? action = null;
        IMeasuredSource? peer = result.SystemPeer is { } selected ? FindSource(selected.Name) : null;
        if (peer is null)
        {
            if (Discipline.IsSynchronized)
            {
                Discipline.SetUnsynchronized(localNowNs);
            }
        }
        else if ((!_sampleUsed.TryGetValue(peer, out long used) || used != peer.Statistics.LastSampleTimeNs)
            && !Discipline.IsLeapSecondClose(localNowNs))
        {
            SourceStatistics stats = peer.Statistics;
            LeapIndicator leap = result.Leap == LeapIndicator.NoWarning && LeapSeconds is { } table ? table.LeapAtEndOfDay(localNowNs) : result.Leap;
            var input = new DisciplineInput(
                result.CombinedOffset,
                stats.StandardDeviationSeconds,
                stats.FrequencyPpm,
                stats.SkewPpm,
                result.Stratum,
                result.ReferenceId,
                peer.Name,
                result.RootDelay,
                result.RootDispersion,
                leap);
            action = Discipline.Update(input, localNowNs);

            // Like chrony, every source's sample is "used" by an update, whoever the peer was.
            foreach (IMeasuredSource source in _sources)
            {
                _sampleUsed[source] = source.Statistics.LastSampleTimeNs;
            }
        }

        Tracking = Discipline.Report(localNowNs);
        _reference = Discipline.IsSynchronized
            ? new ReferenceSnapshot(
                true,
                Discipline.Leap,
                (byte)Math.Clamp(Discipline.Stratum, 1, 15),
                Discipline.ReferenceId,
                Discipline.ReferenceTimeNs,
                Discipline.RootDelay,
                Discipline.RootDispersionAt(Discipline.ReferenceTimeNs),
                Discipline.RootDispersionGrowth)
            : ReferenceSnapshot.Unsynchronized;
        return action;
    }

    /// <summary>
    /// What our NTP server advertises at <paramref name="now"/> (RFC 5905 §7.3): synchronized, our stratum (the
    /// system peer's plus one), its reference id, the time of the last update, the root delay and the root dispersion
    /// grown since; unsynchronized, <c>local stratum</c> if configured, else leap 3 / stratum 16. Safe to call from the
    /// server's threads.
    /// </summary>
    /// <param name="now">The server's transmit time.</param>
    /// <returns>The header fields to serve.</returns>
    public ReferenceState Reference(NtpTimestamp now)
    {
        ReferenceSnapshot snapshot = _reference;
        if (!snapshot.Synchronized)
        {
            return _localStratum is { } stratum ? ReferenceState.Local(stratum, now) : ReferenceState.Unsynchronized;
        }

        long nowNs = now.ToUnixTimeNanoseconds(snapshot.ReferenceTimeNs);

        // An announcement is void once its day is over (the leap second has happened), even before the next update.
        LeapIndicator leap = snapshot.Leap is LeapIndicator.InsertSecond or LeapIndicator.DeleteSecond && !ClockDiscipline.IsLeapSecondDay(nowNs)
            ? LeapIndicator.NoWarning
            : snapshot.Leap;
        return new ReferenceState(
            leap,
            snapshot.Stratum,
            snapshot.ReferenceId,
            NtpTimestamp.FromUnixTimeNanoseconds(snapshot.ReferenceTimeNs),
            NtpShortFormat.FromSeconds(snapshot.RootDelay),
            NtpShortFormat.FromSeconds(snapshot.RootDispersion + Math.Abs((nowNs - snapshot.ReferenceTimeNs) / 1e9) * snapshot.DispersionGrowth));
    }

    /// <summary><c>tempusctl makestep</c>: step out the offset still being slewed, now.</summary>
    /// <returns>The step made, seconds (reference − local).</returns>
    public double MakeStep()
    {
        double step = Discipline.MakeStep();
        Tracking = Discipline.Report(Clock.UnixNanoseconds);
        return step;
    }

    private IMeasuredSource? FindSource(string name)
    {
        foreach (IMeasuredSource source in _sources)
        {
            if (string.Equals(source.Name, name, StringComparison.Ordinal))
            {
                return source;
            }
        }

        return null;
    }

    private void OnClockCorrected(ClockCorrection correction)
    {
        foreach (IMeasuredSource source in _sources)
        {
            source.OnClockCorrected(correction.LocalTimeNs, correction.FrequencyChangePpm, correction.OffsetCorrection);
        }
    }

    // What Reference() needs, replaced whole after each update so the server's threads read a consistent set.
    private sealed record ReferenceSnapshot(
        bool Synchronized,
        LeapIndicator Leap,
        byte Stratum,
        uint ReferenceId,
        long ReferenceTimeNs,
        double RootDelay,
        double RootDispersion,
        double DispersionGrowth)
    {
        public static ReferenceSnapshot Unsynchronized { get; } = new(false, LeapIndicator.Unsynchronized, 16, 0, 0, 0, 0, 0);
    }
}
