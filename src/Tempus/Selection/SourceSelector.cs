using System.Globalization;
using Tempus.Protocol;

namespace Tempus.Selection;

/// <summary>
/// Source selection: filter, interval intersection with falseticker rejection (RFC 5905 §11.2.1, Marzullo, in the
/// manner of chrony's sources.c), choice of the system peer and combination of the survivors (RFC 5905 §11.2.3).
/// Pure and deterministic: the same candidates in the same order always give the same result; no clock is read.
/// </summary>
public static class SourceSelector
{
    // A root distance of zero would give an infinite combine weight; no real path is shorter than a nanosecond.
    private const double MinimumWeightDistance = 1e-9;

    private const int MaxStratum = 16;

    /// <summary>Selects the system peer among <paramref name="candidates"/> and combines the survivors.</summary>
    /// <param name="candidates">Every configured source, selectable or not, so that each gets a state and a reason.</param>
    /// <param name="options">The selection directives.</param>
    /// <returns>The system peer (or why there is none), the combined offset and every candidate's state.</returns>
    /// <exception cref="ArgumentException">
    /// Two candidates share a name, a candidate's offset or root distance is not a finite number (or the distance is
    /// negative), or an option is out of range.
    /// </exception>
    public static SelectionResult Select(IReadOnlyList<SelectionCandidate> candidates, SelectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(options);
        Validate(candidates, options);

        int count = candidates.Count;
        var states = new SourceSelection?[count];
        int authenticatedConfigured = candidates.Count(c => c.IsAuthenticated);
        // Under mix with both kinds configured, authenticated sources are implicitly trust + require (as chrony does),
        // so plain sources can only ever agree with them, never outvote them.
        bool mixActive = options.AuthSelectMode == AuthSelectMode.Mix
            && authenticatedConfigured > 0 && authenticatedConfigured < count;

        var selectable = new List<int>(count);
        for (int i = 0; i < count; i++)
        {
            SourceSelection? rejected = Filter(candidates[i], options, authenticatedConfigured);
            if (rejected is null)
            {
                selectable.Add(i);
            }
            else
            {
                states[i] = rejected;
            }
        }

        if (selectable.Count == 0)
        {
            return Fail(candidates, states, SelectionFailure.NoSelectableSources, "no selectable sources");
        }

        if (selectable.Count < options.MinSources)
        {
            return Fail(candidates, states, SelectionFailure.FewerThanMinSources,
                $"fewer than minsources: {selectable.Count} selectable, minsources {options.MinSources}");
        }

        if (!TryIntersect(candidates, selectable, mixActive, out double low, out double high, out bool trusted))
        {
            return Fail(candidates, states, SelectionFailure.NoMajority,
                $"no majority agreement: no interval is shared by more than half of the {selectable.Count} selectable sources");
        }

        var truechimers = new List<int>(selectable.Count);
        foreach (int i in selectable)
        {
            SelectionCandidate c = candidates[i];
            if (Overlaps(c, low, high))
            {
                truechimers.Add(i);
            }
            else if (trusted && !IsTrusted(c, mixActive))
            {
                states[i] = new(c.Name, SourceSelectionStatus.DisagreesWithTrusted,
                    $"disagrees with the trusted sources: its interval {Interval(c)} does not overlap their agreement {Interval(low, high)}");
            }
            else
            {
                string agreement = trusted ? "the other trusted sources' agreement" : "the majority's agreement";
                states[i] = new(c.Name, SourceSelectionStatus.Falseticker,
                    $"falseticker: its interval {Interval(c)} does not overlap {agreement} {Interval(low, high)}");
            }
        }

        if (truechimers.Count < options.MinSources)
        {
            return Fail(candidates, states, SelectionFailure.FewerThanMinSources,
                $"fewer than minsources: {truechimers.Count} agreeing, minsources {options.MinSources}");
        }

        bool requireConfigured = candidates.Any(c => IsRequired(c, mixActive));
        if (requireConfigured && !truechimers.Any(i => IsRequired(candidates[i], mixActive)))
        {
            return Fail(candidates, states, SelectionFailure.NoRequireSourceSelectable,
                mixActive
                    ? "no 'require' source selectable: under authselectmode mix an authenticated source must agree"
                    : "no 'require' source selectable");
        }

        int peer = ChooseSystemPeer(candidates, truechimers, mixActive, out string why);
        return Combine(candidates, states, truechimers, peer, why, mixActive, options);
    }

    private static void Validate(IReadOnlyList<SelectionCandidate> candidates, SelectionOptions options)
    {
        if (options.MinSources < 1)
        {
            throw new ArgumentException($"minsources must be at least 1, not {options.MinSources}.", nameof(options));
        }

        if (!(options.MaxDistance > 0) || !double.IsFinite(options.MaxDistance))
        {
            throw new ArgumentException($"maxdistance must be a positive number of seconds, not {options.MaxDistance}.", nameof(options));
        }

        if (!(options.MaxJitter > 0) || double.IsNaN(options.MaxJitter))
        {
            throw new ArgumentException($"maxjitter must be a positive number of seconds, not {options.MaxJitter}.", nameof(options));
        }

        if (!(options.CombineLimit >= 0) || !double.IsFinite(options.CombineLimit))
        {
            throw new ArgumentException($"combinelimit must be a non-negative number, not {options.CombineLimit}.", nameof(options));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (SelectionCandidate c in candidates)
        {
            ArgumentNullException.ThrowIfNull(c, nameof(candidates));
            if (!names.Add(c.Name))
            {
                throw new ArgumentException($"Two candidates are named '{c.Name}'; names break ties and must be unique.", nameof(candidates));
            }

            if (!double.IsFinite(c.Offset) || !double.IsFinite(c.RootDistance) || c.RootDistance < 0)
            {
                throw new ArgumentException(
                    $"Source '{c.Name}' has offset {c.Offset} s and root distance {c.RootDistance} s; both must be finite and the distance non-negative.",
                    nameof(candidates));
            }
        }
    }

    private static SourceSelection? Filter(SelectionCandidate c, SelectionOptions options, int authenticatedConfigured)
    {
        if (!c.Reachable)
        {
            return new(c.Name, SourceSelectionStatus.Unreachable, "unreachable: no usable sample");
        }

        if ((c.Options & SourceSelectOptions.NoSelect) != 0)
        {
            return new(c.Name, SourceSelectionStatus.NoSelect, "noselect: configured to be monitored only");
        }

        if (!c.IsAuthenticated)
        {
            if (options.AuthSelectMode == AuthSelectMode.Require)
            {
                return new(c.Name, SourceSelectionStatus.Unauthenticated,
                    "unauthenticated: authselectmode require; only authenticated sources can steer the clock");
            }

            if (options.AuthSelectMode == AuthSelectMode.Prefer && authenticatedConfigured > 0)
            {
                string sources = authenticatedConfigured == 1 ? "1 authenticated source is" : $"{authenticatedConfigured} authenticated sources are";
                return new(c.Name, SourceSelectionStatus.Unauthenticated,
                    $"unauthenticated: authselectmode prefer and {sources} configured; this source cannot steer the clock");
            }
        }

        if (c.Leap == LeapIndicator.Unsynchronized || c.Stratum >= MaxStratum)
        {
            return new(c.Name, SourceSelectionStatus.NotSynchronized,
                c.Leap == LeapIndicator.Unsynchronized
                    ? "not synchronized: the source announces leap indicator 3 (unsynchronized)"
                    : $"not synchronized: the source has stratum {c.Stratum}");
        }

        if (c.UpstreamReferenceId != 0 && options.OwnReferenceIds.Contains(c.UpstreamReferenceId))
        {
            return new(c.Name, SourceSelectionStatus.Loop,
                $"timing loop: the source is synchronized to this host (its reference id {c.UpstreamReferenceId:X8} is ours)");
        }

        if (c.RootDistance > options.MaxDistance)
        {
            return new(c.Name, SourceSelectionStatus.DistanceTooLarge,
                $"root distance {Seconds(c.RootDistance)} exceeds maxdistance {Seconds(options.MaxDistance)}");
        }

        if (c.Jitter > options.MaxJitter)
        {
            return new(c.Name, SourceSelectionStatus.Jittery,
                $"too much variability: jitter {Seconds(c.Jitter)} exceeds maxjitter {Seconds(options.MaxJitter)}");
        }

        return null;
    }

    /// <summary>
    /// Marzullo's intersection as chrony does it: sweep the sorted interval endpoints and keep the interval where the
    /// most trusted sources, then the most sources, overlap. RFC 5905 §11.2.1 asks for the same majority clique
    /// (more than half) but tests midpoints; like chrony, a source here is a truechimer when its whole interval
    /// overlaps the agreement.
    /// </summary>
    private static bool TryIntersect(
        IReadOnlyList<SelectionCandidate> candidates, List<int> selectable, bool mixActive,
        out double low, out double high, out bool trusted)
    {
        var edges = new List<(double Value, bool IsHigh, int Index)>(selectable.Count * 2);
        foreach (int i in selectable)
        {
            SelectionCandidate c = candidates[i];
            edges.Add((c.Offset - c.RootDistance, false, i));
            edges.Add((c.Offset + c.RootDistance, true, i));
        }

        // Lows before highs at the same value, so intervals that touch intersect; names make the order total.
        edges.Sort((a, b) =>
        {
            int byValue = a.Value.CompareTo(b.Value);
            if (byValue != 0)
            {
                return byValue;
            }

            int byKind = a.IsHigh.CompareTo(b.IsHigh);
            return byKind != 0 ? byKind : string.CompareOrdinal(candidates[a.Index].Name, candidates[b.Index].Name);
        });

        int depth = 0, trustDepth = 0, bestDepth = 0, bestTrustDepth = 0;
        low = double.NaN;
        high = double.NaN;
        foreach ((double value, bool isHigh, int index) in edges)
        {
            bool isTrusted = IsTrusted(candidates[index], mixActive);
            if (!isHigh)
            {
                depth++;
                trustDepth += isTrusted ? 1 : 0;
                if (trustDepth > bestTrustDepth || (trustDepth == bestTrustDepth && depth > bestDepth))
                {
                    bestTrustDepth = trustDepth;
                    bestDepth = depth;
                    low = value;
                    high = double.NaN;
                }
            }
            else
            {
                // The first high edge at the best depth closes the best interval; ties keep the lowest interval.
                if (trustDepth == bestTrustDepth && depth == bestDepth && double.IsNaN(high))
                {
                    high = value;
                }

                depth--;
                trustDepth -= isTrusted ? 1 : 0;
            }
        }

        trusted = bestTrustDepth > 0;
        // RFC 5905 §11.2.1: a majority clique (more than half) is required, unless trusted sources decide (chrony).
        return trusted || 2 * bestDepth > selectable.Count;
    }

    private static int ChooseSystemPeer(
        IReadOnlyList<SelectionCandidate> candidates, List<int> truechimers, bool mixActive, out string why)
    {
        IEnumerable<int> pool = truechimers;
        why = "lowest root distance among the agreeing sources";
        if (mixActive)
        {
            pool = pool.Where(i => candidates[i].IsAuthenticated);
            why = "lowest root distance among the agreeing authenticated sources (authselectmode mix)";
        }

        int[] preferred = pool.Where(i => (candidates[i].Options & SourceSelectOptions.Prefer) != 0).ToArray();
        if (preferred.Length > 0)
        {
            pool = preferred;
            why = preferred.Length == 1 ? "prefer source" : "lowest root distance among the agreeing prefer sources";
        }

        return pool
            .OrderBy(i => candidates[i].RootDistance)
            .ThenBy(i => candidates[i].Stratum)
            .ThenBy(i => candidates[i].Name, StringComparer.Ordinal)
            .First();
    }

    private static SelectionResult Combine(
        IReadOnlyList<SelectionCandidate> candidates, SourceSelection?[] states, List<int> truechimers,
        int peerIndex, string why, bool mixActive, SelectionOptions options)
    {
        SelectionCandidate peer = candidates[peerIndex];
        var combined = new List<int>(truechimers.Count) { peerIndex };
        foreach (int i in truechimers)
        {
            SelectionCandidate c = candidates[i];
            if (i == peerIndex)
            {
                continue;
            }

            // Implicit trust already makes plain sources that disagree with the authenticated ones 'T'; this keeps the
            // documented mix rule (overlap the system peer) true on its own, whatever the intersection found.
            if (mixActive && !c.IsAuthenticated && !Overlaps(c, peer.Offset - peer.RootDistance, peer.Offset + peer.RootDistance))
            {
                states[i] = new(c.Name, SourceSelectionStatus.UnauthenticatedNotCombined,
                    $"unauthenticated: authselectmode mix and its interval {Interval(c)} does not overlap the system peer's {Interval(peer)}");
            }
            else if (c.RootDistance > options.CombineLimit * peer.RootDistance)
            {
                states[i] = new(c.Name, SourceSelectionStatus.DistanceTooLargeToCombine,
                    $"not combined: root distance {Seconds(c.RootDistance)} exceeds combinelimit {options.CombineLimit.ToString(CultureInfo.InvariantCulture)} × the system peer's {Seconds(peer.RootDistance)}");
            }
            else
            {
                combined.Add(i);
            }
        }

        // RFC 5905 §11.2.3 weights by 1/root distance; summed in a fixed order so the result is reproducible.
        combined.Sort();
        double weightSum = 0, weightedOffset = 0;
        foreach (int i in combined)
        {
            double w = Weight(candidates[i]);
            weightSum += w;
            weightedOffset += w * candidates[i].Offset;
        }

        foreach (int i in combined)
        {
            SelectionCandidate c = candidates[i];
            string share = (Weight(c) / weightSum).ToString("0.0%", CultureInfo.InvariantCulture);
            states[i] = i == peerIndex
                ? new(c.Name, SourceSelectionStatus.Selected,
                    $"selected: {why}; root distance {Seconds(c.RootDistance)}, weight {share}")
                : new(c.Name, SourceSelectionStatus.Combined,
                    $"combined: agrees with the system peer; root distance {Seconds(c.RootDistance)}, weight {share}");
        }

        return new SelectionResult
        {
            Failure = SelectionFailure.None,
            FailureReason = string.Empty,
            SystemPeer = peer,
            CombinedOffset = weightedOffset / weightSum,
            Stratum = Math.Min(peer.Stratum + 1, MaxStratum),
            ReferenceId = peer.ReferenceId,
            RootDelay = peer.RootDelay,
            RootDispersion = peer.RootDispersion,
            Leap = VoteLeap(candidates, combined),
            Sources = Complete(candidates, states, "not considered"),
        };
    }

    /// <summary>A leap second is announced only when more than half of the combined sources announce it.</summary>
    private static LeapIndicator VoteLeap(IReadOnlyList<SelectionCandidate> candidates, List<int> combined)
    {
        int insert = combined.Count(i => candidates[i].Leap == LeapIndicator.InsertSecond);
        int delete = combined.Count(i => candidates[i].Leap == LeapIndicator.DeleteSecond);
        if (2 * insert > combined.Count)
        {
            return LeapIndicator.InsertSecond;
        }

        return 2 * delete > combined.Count ? LeapIndicator.DeleteSecond : LeapIndicator.NoWarning;
    }

    private static SelectionResult Fail(
        IReadOnlyList<SelectionCandidate> candidates, SourceSelection?[] states, SelectionFailure failure, string reason) => new()
        {
            Failure = failure,
            FailureReason = reason,
            Sources = Complete(candidates, states, $"waiting: {reason}"),
        };

    private static SourceSelection[] Complete(IReadOnlyList<SelectionCandidate> candidates, SourceSelection?[] states, string reason)
    {
        var result = new SourceSelection[candidates.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = states[i] ?? new(candidates[i].Name, SourceSelectionStatus.WaitingForOthers, reason);
        }

        return result;
    }

    private static bool IsTrusted(SelectionCandidate c, bool mixActive) =>
        (c.Options & SourceSelectOptions.Trust) != 0 || (mixActive && c.IsAuthenticated);

    private static bool IsRequired(SelectionCandidate c, bool mixActive) =>
        (c.Options & SourceSelectOptions.Require) != 0 || (mixActive && c.IsAuthenticated);

    private static bool Overlaps(SelectionCandidate c, double low, double high) =>
        c.Offset + c.RootDistance >= low && c.Offset - c.RootDistance <= high;

    private static double Weight(SelectionCandidate c) => 1.0 / Math.Max(c.RootDistance, MinimumWeightDistance);

    private static string Seconds(double seconds) =>
        (seconds * 1e3).ToString("0.###", CultureInfo.InvariantCulture) + " ms";

    private static string Interval(SelectionCandidate c) => Interval(c.Offset - c.RootDistance, c.Offset + c.RootDistance);

    private static string Interval(double low, double high) => $"[{Seconds(low)}, {Seconds(high)}]";
}
