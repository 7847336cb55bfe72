using Tempus.Protocol;

namespace Tempus.Selection;

/// <summary>
/// Why a source has the state it has, one code per letter of the State column of <c>tempusctl selectdata</c>.
/// The letters follow <c>chronyc selectdata</c> where chrony has one (N, s, d, x, T, W, D, +, *); the rest are
/// Tempus's: <c>?</c> unreachable, <c>A</c> excluded by <c>authselectmode</c>, <c>-</c> excluded from the combined
/// estimate under <c>authselectmode mix</c>.
/// </summary>
public enum SourceSelectionStatus
{
    /// <summary><c>*</c>: the system peer.</summary>
    Selected,

    /// <summary><c>+</c>: combined with the system peer.</summary>
    Combined,

    /// <summary><c>?</c>: not reachable, or no usable sample yet.</summary>
    Unreachable,

    /// <summary><c>N</c>: has the <c>noselect</c> option.</summary>
    NoSelect,

    /// <summary><c>A</c>: unauthenticated and excluded by <c>authselectmode</c>.</summary>
    Unauthenticated,

    /// <summary><c>s</c>: the source is not synchronized (leap indicator 3 or stratum 16 or more).</summary>
    NotSynchronized,

    /// <summary><c>d</c>: root distance larger than <c>maxdistance</c>.</summary>
    DistanceTooLarge,

    /// <summary><c>~</c>: its samples scatter more than <c>maxjitter</c>.</summary>
    Jittery,

    /// <summary><c>L</c>: the source is synchronized to this host (its reference id is one of ours): a timing loop.</summary>
    Loop,

    /// <summary><c>x</c>: its interval does not overlap the one the majority agrees on.</summary>
    Falseticker,

    /// <summary><c>T</c>: its interval does not overlap the one the <c>trust</c> sources agree on.</summary>
    DisagreesWithTrusted,

    /// <summary><c>W</c>: selectable, but selection as a whole failed (see <see cref="SelectionResult.Failure"/>).</summary>
    WaitingForOthers,

    /// <summary><c>D</c>: a survivor whose root distance exceeds <c>combinelimit</c> times the system peer's.</summary>
    DistanceTooLargeToCombine,

    /// <summary><c>-</c>: an unauthenticated survivor under <c>authselectmode mix</c> that does not overlap the system peer.</summary>
    UnauthenticatedNotCombined,
}

/// <summary>Why no system peer was chosen.</summary>
public enum SelectionFailure
{
    /// <summary>Selection succeeded.</summary>
    None,

    /// <summary>No source passed the filters.</summary>
    NoSelectableSources,

    /// <summary>Fewer sources survived intersection than <c>minsources</c> requires.</summary>
    FewerThanMinSources,

    /// <summary>No interval is shared by more than half of the selectable sources (RFC 5905 §11.2.1 step 6).</summary>
    NoMajority,

    /// <summary>Sources have the <c>require</c> option but none of them survived selection.</summary>
    NoRequireSourceSelectable,
}

/// <summary>The outcome of selection for one source.</summary>
/// <param name="Name">The candidate's name.</param>
/// <param name="Status">The reason code.</param>
/// <param name="Reason">One sentence for <c>tempusctl selectdata</c> and the audit: what happened and why.</param>
public sealed record SourceSelection(string Name, SourceSelectionStatus Status, string Reason)
{
    /// <summary>The state character of <c>tempusctl sources</c> (chronyc's <c>*</c>, <c>+</c>, <c>-</c>, <c>x</c>, <c>?</c>).</summary>
    public char SourcesState => Status switch
    {
        SourceSelectionStatus.Selected => '*',
        SourceSelectionStatus.Combined => '+',
        SourceSelectionStatus.Falseticker or SourceSelectionStatus.DisagreesWithTrusted => 'x',
        SourceSelectionStatus.Jittery => '~',
        SourceSelectionStatus.Unreachable or SourceSelectionStatus.NotSynchronized
            or SourceSelectionStatus.DistanceTooLarge => '?',
        _ => '-',
    };

    /// <summary>The letter of the State column of <c>tempusctl selectdata</c>; see <see cref="SourceSelectionStatus"/>.</summary>
    public char SelectDataState => Status switch
    {
        SourceSelectionStatus.Selected => '*',
        SourceSelectionStatus.Combined => '+',
        SourceSelectionStatus.Unreachable => '?',
        SourceSelectionStatus.NoSelect => 'N',
        SourceSelectionStatus.Unauthenticated => 'A',
        SourceSelectionStatus.NotSynchronized => 's',
        SourceSelectionStatus.DistanceTooLarge => 'd',
        SourceSelectionStatus.Jittery => '~',
        SourceSelectionStatus.Loop => 'L',
        SourceSelectionStatus.Falseticker => 'x',
        SourceSelectionStatus.DisagreesWithTrusted => 'T',
        SourceSelectionStatus.WaitingForOthers => 'W',
        SourceSelectionStatus.DistanceTooLargeToCombine => 'D',
        SourceSelectionStatus.UnauthenticatedNotCombined => '-',
        _ => '?',
    };
}

/// <summary>The outcome of one run of selection: the system peer, the combined offset and every source's state.</summary>
public sealed record SelectionResult
{
    /// <summary>Why nothing was selected, or <see cref="SelectionFailure.None"/>.</summary>
    public required SelectionFailure Failure { get; init; }

    /// <summary>Why nothing was selected, as one sentence; empty on success.</summary>
    public required string FailureReason { get; init; }

    /// <summary>The system peer, or null when nothing was selected.</summary>
    public SelectionCandidate? SystemPeer { get; init; }

    /// <summary>The offset to steer toward: the survivors' offsets weighted by 1/root distance, in seconds.</summary>
    public double CombinedOffset { get; init; }

    /// <summary>Our stratum: the system peer's plus one; 16 when nothing is selected.</summary>
    public int Stratum { get; init; } = 16;

    /// <summary>Our reference id: the system peer's.</summary>
    public uint ReferenceId { get; init; }

    /// <summary>Our root delay in seconds: the system peer's.</summary>
    public double RootDelay { get; init; }

    /// <summary>Our root dispersion in seconds: the system peer's.</summary>
    public double RootDispersion { get; init; }

    /// <summary>The leap indicator announced by more than half of the survivors, else none; unsynchronized on failure.</summary>
    public LeapIndicator Leap { get; init; } = LeapIndicator.Unsynchronized;

    /// <summary>Every candidate's state, in the order the candidates were given.</summary>
    public required IReadOnlyList<SourceSelection> Sources { get; init; }

    /// <summary>Whether a system peer was chosen.</summary>
    public bool IsSynchronized => SystemPeer is not null;
}
