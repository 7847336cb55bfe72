using Tempus.Protocol;

namespace Tempus.Selection;

/// <summary>How a source's responses are authenticated; what <see cref="AuthSelectMode"/> looks at.</summary>
public enum SourceAuthentication
{
    /// <summary>Plain NTP: anyone on the path can forge the time it reports.</summary>
    None = 0,

    /// <summary>Symmetric-key MAC from the key file (RFC 5905 §7.3, RFC 8573).</summary>
    SymmetricKey = 1,

    /// <summary>Network Time Security (RFC 8915).</summary>
    Nts = 2,
}

/// <summary>The per-source selection options of the <c>server</c> and <c>pool</c> directives (chrony.conf semantics).</summary>
[Flags]
public enum SourceSelectOptions
{
    /// <summary>No option given.</summary>
    None = 0,

    /// <summary><c>prefer</c>: among the survivors, this source becomes the system peer.</summary>
    Prefer = 1,

    /// <summary><c>noselect</c>: measured and shown, never selected or combined.</summary>
    NoSelect = 2,

    /// <summary>
    /// <c>trust</c>: the source's time is assumed correct; an interval containing a trusted source wins over a larger
    /// untrusted majority, so only disagreement among trusted sources can make one a falseticker.
    /// </summary>
    Trust = 4,

    /// <summary><c>require</c>: nothing is selected unless at least one source with this option survives selection.</summary>
    Require = 8,
}

/// <summary>The <c>authselectmode</c> directive: the part authentication plays in selection.</summary>
public enum AuthSelectMode
{
    /// <summary>Only authenticated sources are selectable.</summary>
    Require = 0,

    /// <summary>
    /// The Tempus default: once any authenticated source is configured, unauthenticated sources cannot be selected or
    /// combined, even while every authenticated source is unreachable (the rule fails closed rather than falling back
    /// to plain NTP). chrony's default is <see cref="Mix"/>; Tempus keys this rule on the configured sources, not on
    /// which of them are selectable at the moment.
    /// </summary>
    Prefer = 1,

    /// <summary>
    /// Both kinds are considered, but when both are configured the authenticated ones are implicitly <c>trust</c> and
    /// <c>require</c>, the system peer is an authenticated source, and an unauthenticated source joins the combined
    /// estimate only if its interval overlaps the system peer's.
    /// </summary>
    Mix = 2,

    /// <summary>Authentication plays no part in selection.</summary>
    Ignore = 3,
}

/// <summary>What selection knows about one source: its latest filtered measurement and its configuration.</summary>
/// <param name="Name">The source's name as shown by <c>tempusctl sources</c>; also the final tie-breaker (ordinal).</param>
/// <param name="Authentication">How the source's responses are authenticated.</param>
/// <param name="Options">The per-source selection options.</param>
/// <param name="Reachable">Whether the reachability register is non-zero and a usable sample exists.</param>
/// <param name="Stratum">The source's stratum; 16 and above means unsynchronized.</param>
/// <param name="Leap">The leap indicator the source announces.</param>
/// <param name="Offset">Estimated offset of the source's clock from ours, in seconds (positive: we are behind).</param>
/// <param name="RootDistance">
/// Root synchronization distance through this source in seconds (RFC 5905 §11.2.1 lambda): the half-width of the
/// correctness interval [Offset - RootDistance, Offset + RootDistance].
/// </param>
/// <param name="RootDelay">Root delay through this source in seconds, reported as ours if it becomes the system peer.</param>
/// <param name="RootDispersion">Root dispersion through this source in seconds, reported as ours if it becomes the system peer.</param>
/// <param name="ReferenceId">The reference id that identifies this source in our own packets (RFC 5905 §7.3).</param>
/// <param name="Jitter">The standard deviation of the source's samples in seconds (what <c>maxjitter</c> is compared with).</param>
/// <param name="UpstreamReferenceId">The reference id the source itself announces: the id of <em>its</em> system peer,
/// used to detect a timing loop (a source synchronized to us).</param>
public sealed record SelectionCandidate(
    string Name,
    SourceAuthentication Authentication,
    SourceSelectOptions Options,
    bool Reachable,
    int Stratum,
    LeapIndicator Leap,
    double Offset,
    double RootDistance,
    double RootDelay = 0,
    double RootDispersion = 0,
    uint ReferenceId = 0,
    double Jitter = 0,
    uint UpstreamReferenceId = 0)
{
    /// <summary>Whether the source's responses are authenticated (symmetric key or NTS).</summary>
    public bool IsAuthenticated => Authentication != SourceAuthentication.None;
}

/// <summary>The selection directives of the configuration.</summary>
public sealed record SelectionOptions
{
    /// <summary>The default options: <c>authselectmode prefer</c>, <c>minsources 1</c>, <c>maxdistance 3</c>, <c>combinelimit 3</c>.</summary>
    public static SelectionOptions Default { get; } = new();

    /// <summary><c>authselectmode</c>; <see cref="AuthSelectMode.Prefer"/> unless configured.</summary>
    public AuthSelectMode AuthSelectMode { get; init; } = AuthSelectMode.Prefer;

    /// <summary><c>minsources</c>: how many sources must agree (survive intersection) before the clock is steered.</summary>
    public int MinSources { get; init; } = 1;

    /// <summary><c>maxdistance</c>: sources with a larger root distance, in seconds, are not selectable.</summary>
    public double MaxDistance { get; init; } = 3.0;

    /// <summary>
    /// <c>combinelimit</c>: a survivor is combined only if its root distance is at most this many times the system
    /// peer's.
    /// </summary>
    public double CombineLimit { get; init; } = 3.0;

    /// <summary><c>maxjitter</c>: sources whose samples scatter more than this, in seconds, are not selectable (chrony's '~').</summary>
    public double MaxJitter { get; init; } = 1.0;

    /// <summary>
    /// Reference ids that designate this host (its IPv4 addresses, the RFC 5905 §7.3 hash of its IPv6 addresses):
    /// a source announcing one of them is synchronized to us, and selecting it would close a timing loop.
    /// </summary>
    public IReadOnlySet<uint> OwnReferenceIds { get; init; } = new HashSet<uint>();
}
