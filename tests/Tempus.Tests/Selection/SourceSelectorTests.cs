using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Tests.Selection;

public sealed class SourceSelectorTests
{
    private static SelectionCandidate Source(
        string name, double offset, double distance = 0.010,
        SourceAuthentication auth = SourceAuthentication.Nts, SourceSelectOptions options = SourceSelectOptions.None,
        bool reachable = true, int stratum = 2, LeapIndicator leap = LeapIndicator.NoWarning) =>
        new(name, auth, options, reachable, stratum, leap, offset, distance, RootDelay: 0.002, RootDispersion: 0.001, ReferenceId: (uint)name.GetHashCode(StringComparison.Ordinal));

    private static SelectionResult Select(SelectionOptions options, params SelectionCandidate[] candidates) =>
        SourceSelector.Select(candidates, options);

    private static SelectionResult Select(params SelectionCandidate[] candidates) =>
        SourceSelector.Select(candidates, SelectionOptions.Default);

    private static SourceSelection State(SelectionResult result, string name) => result.Sources.Single(s => s.Name == name);

    [Fact]
    public void SourceTwoHundredMillisecondsOffAmongFourIsTheFalseticker()
    {
        SelectionResult result = Select(
            Source("a", 0.001), Source("b", -0.002), Source("c", 0.000, 0.012), Source("bad", 0.200));

        Assert.True(result.IsSynchronized);
        Assert.Equal(SourceSelectionStatus.Falseticker, State(result, "bad").Status);
        Assert.Equal('x', State(result, "bad").SourcesState);
        Assert.Equal('x', State(result, "bad").SelectDataState);
        Assert.Contains("falseticker", State(result, "bad").Reason);
        Assert.All(new[] { "a", "b", "c" }, n => Assert.Contains(State(result, n).SourcesState, "*+"));
        Assert.Equal("a", result.SystemPeer!.Name);
        Assert.InRange(result.CombinedOffset, -0.002, 0.001);
    }

    [Fact]
    public void UnderDefaultPreferAPlainSourceNeverSteersWhenNtsSourcesAreConfiguredEvenWithTheBestDistance()
    {
        SelectionResult result = Select(
            Source("nts1", 0.001, 0.020), Source("nts2", 0.002, 0.020),
            Source("pool", 0.000, 0.001, SourceAuthentication.None));

        Assert.Equal(AuthSelectMode.Prefer, SelectionOptions.Default.AuthSelectMode);
        SourceSelection plain = State(result, "pool");
        Assert.Equal(SourceSelectionStatus.Unauthenticated, plain.Status);
        Assert.Equal('A', plain.SelectDataState);
        Assert.Equal('-', plain.SourcesState);
        Assert.Equal(
            "unauthenticated: authselectmode prefer and 2 authenticated sources are configured; this source cannot steer the clock",
            plain.Reason);
        Assert.Equal("nts1", result.SystemPeer!.Name);
        Assert.Equal(0.0015, result.CombinedOffset, 12);
    }

    [Fact]
    public void UnderDefaultPreferAPlainSourceStaysExcludedWhileEveryNtsSourceIsUnreachable()
    {
        SelectionResult result = Select(
            Source("nts1", 0.0, reachable: false), Source("nts2", 0.0, reachable: false),
            Source("pool", 0.0, 0.001, SourceAuthentication.None));

        Assert.False(result.IsSynchronized);
        Assert.Equal(SelectionFailure.NoSelectableSources, result.Failure);
        Assert.Equal(SourceSelectionStatus.Unauthenticated, State(result, "pool").Status);
        Assert.Equal('?', State(result, "nts1").SourcesState);
    }

    [Fact]
    public void UnderPreferPlainSourcesAreSelectableWhenNoAuthenticatedSourceIsConfigured()
    {
        SelectionResult result = Select(Source("pool", 0.0, auth: SourceAuthentication.None));

        Assert.Equal("pool", result.SystemPeer!.Name);
    }

    [Fact]
    public void UnderIgnoreThePlainSourceWithTheBestDistanceIsSelected()
    {
        SelectionResult result = Select(
            SelectionOptions.Default with { AuthSelectMode = AuthSelectMode.Ignore },
            Source("nts1", 0.001, 0.020), Source("nts2", 0.002, 0.020),
            Source("pool", 0.000, 0.001, SourceAuthentication.None));

        Assert.Equal("pool", result.SystemPeer!.Name);
        Assert.Equal('*', State(result, "pool").SourcesState);
    }

    [Fact]
    public void UnderRequireWithNoAuthenticatedSourceReachableNothingIsSelected()
    {
        SelectionResult result = Select(
            SelectionOptions.Default with { AuthSelectMode = AuthSelectMode.Require },
            Source("nts1", 0.0, reachable: false), Source("key1", 0.0, auth: SourceAuthentication.SymmetricKey, reachable: false),
            Source("pool", 0.0, auth: SourceAuthentication.None));

        Assert.False(result.IsSynchronized);
        Assert.Equal(SelectionFailure.NoSelectableSources, result.Failure);
        Assert.Equal("no selectable sources", result.FailureReason);
        Assert.Contains("authselectmode require", State(result, "pool").Reason);
        Assert.Equal(LeapIndicator.Unsynchronized, result.Leap);
        Assert.Equal(16, result.Stratum);
    }

    [Fact]
    public void UnderMixAPlainSourceIsCombinedOnlyWhenItOverlapsTheAuthenticatedSystemPeer()
    {
        var mix = SelectionOptions.Default with { AuthSelectMode = AuthSelectMode.Mix };

        SelectionResult agreeing = Select(mix,
            Source("nts", 0.000, 0.010), Source("pool", 0.005, 0.002, SourceAuthentication.None));
        Assert.Equal("nts", agreeing.SystemPeer!.Name);
        Assert.Equal(SourceSelectionStatus.Combined, State(agreeing, "pool").Status);

        SelectionResult disagreeing = Select(mix,
            Source("nts", 0.000, 0.010), Source("pool1", 0.050, 0.002, SourceAuthentication.None),
            Source("pool2", 0.051, 0.002, SourceAuthentication.None));
        Assert.Equal("nts", disagreeing.SystemPeer!.Name);
        Assert.Equal(0.0, disagreeing.CombinedOffset);
        Assert.Equal(SourceSelectionStatus.DisagreesWithTrusted, State(disagreeing, "pool1").Status);
        Assert.Equal('T', State(disagreeing, "pool2").SelectDataState);
    }

    [Fact]
    public void UnderMixNothingIsSelectedWhenOnlyPlainSourcesAreSelectable()
    {
        SelectionResult result = Select(
            SelectionOptions.Default with { AuthSelectMode = AuthSelectMode.Mix },
            Source("nts", 0.0, reachable: false), Source("pool", 0.0, auth: SourceAuthentication.None));

        Assert.Equal(SelectionFailure.NoRequireSourceSelectable, result.Failure);
        Assert.Equal(SourceSelectionStatus.WaitingForOthers, State(result, "pool").Status);
        Assert.Contains("authselectmode mix", State(result, "pool").Reason);
    }

    [Fact]
    public void MinSourcesThreeWithTwoGoodSourcesSelectsNothing()
    {
        SelectionResult result = Select(
            SelectionOptions.Default with { MinSources = 3 },
            Source("a", 0.0), Source("b", 0.001), Source("c", 0.0, reachable: false));

        Assert.Equal(SelectionFailure.FewerThanMinSources, result.Failure);
        Assert.StartsWith("fewer than minsources", result.FailureReason);
        Assert.Equal('W', State(result, "a").SelectDataState);
    }

    [Fact]
    public void MinSourcesCountsOnlySourcesThatSurviveIntersection()
    {
        SelectionResult result = Select(
            SelectionOptions.Default with { MinSources = 3 },
            Source("a", 0.0), Source("b", 0.001), Source("bad", 0.5));

        Assert.Equal(SelectionFailure.FewerThanMinSources, result.Failure);
        Assert.Equal(SourceSelectionStatus.Falseticker, State(result, "bad").Status);
    }

    [Fact]
    public void SourceBeyondMaxDistanceIsNotSelectable()
    {
        SelectionResult result = Select(
            SelectionOptions.Default with { MaxDistance = 0.5 },
            Source("far", 0.0, 0.6), Source("near", 0.0, 0.4));

        Assert.Equal(SourceSelectionStatus.DistanceTooLarge, State(result, "far").Status);
        Assert.Equal("root distance 600 ms exceeds maxdistance 500 ms", State(result, "far").Reason);
        Assert.Equal('d', State(result, "far").SelectDataState);
        Assert.Equal("near", result.SystemPeer!.Name);
    }

    [Fact]
    public void NoSelectSourceIsNeitherSelectedNorCombined()
    {
        SelectionResult result = Select(Source("watch", 0.0, 0.001, options: SourceSelectOptions.NoSelect), Source("b", 0.002));

        Assert.Equal(SourceSelectionStatus.NoSelect, State(result, "watch").Status);
        Assert.Equal('N', State(result, "watch").SelectDataState);
        Assert.Equal("b", result.SystemPeer!.Name);
        Assert.Equal(0.002, result.CombinedOffset);
    }

    [Fact]
    public void UnsynchronizedSourcesAreNotSelectable()
    {
        SelectionResult result = Select(
            Source("alarm", 0.0, leap: LeapIndicator.Unsynchronized), Source("s16", 0.0, stratum: 16), Source("ok", 0.0));

        Assert.Equal('s', State(result, "alarm").SelectDataState);
        Assert.Equal(SourceSelectionStatus.NotSynchronized, State(result, "s16").Status);
        Assert.Equal("ok", result.SystemPeer!.Name);
    }

    [Fact]
    public void PreferSourceWinsTheSystemPeerChoiceAmongSurvivors()
    {
        SelectionResult result = Select(
            Source("best", 0.000, 0.005), Source("pref", 0.002, 0.010, options: SourceSelectOptions.Prefer), Source("c", 0.001, 0.008));

        Assert.Equal("pref", result.SystemPeer!.Name);
        Assert.StartsWith("selected: prefer source", State(result, "pref").Reason);
        Assert.Equal(SourceSelectionStatus.Combined, State(result, "best").Status);
    }

    [Fact]
    public void PreferSourceThatIsAFalsetickerDoesNotBecomeSystemPeer()
    {
        SelectionResult result = Select(
            Source("a", 0.0), Source("b", 0.001), Source("pref", 0.3, options: SourceSelectOptions.Prefer));

        Assert.Equal(SourceSelectionStatus.Falseticker, State(result, "pref").Status);
        Assert.Equal("a", result.SystemPeer!.Name);
    }

    [Fact]
    public void TrustedSourceOverridesAnUntrustedMajority()
    {
        SelectionResult result = Select(
            Source("a", 0.0), Source("b", 0.001), Source("c", -0.001), Source("trusted", 0.1, options: SourceSelectOptions.Trust));

        Assert.Equal("trusted", result.SystemPeer!.Name);
        Assert.Equal(0.1, result.CombinedOffset);
        Assert.All(new[] { "a", "b", "c" }, n => Assert.Equal(SourceSelectionStatus.DisagreesWithTrusted, State(result, n).Status));
    }

    [Fact]
    public void WhenTrustedSourcesDisagreeTheLargerAgreeingGroupWins()
    {
        SelectionResult result = Select(
            Source("t1", 0.0, options: SourceSelectOptions.Trust), Source("t2", 0.001, options: SourceSelectOptions.Trust),
            Source("t3", 0.2, options: SourceSelectOptions.Trust), Source("u", 0.2));

        Assert.Equal("t1", result.SystemPeer!.Name);
        Assert.Equal(SourceSelectionStatus.Falseticker, State(result, "t3").Status);
        Assert.Contains("the other trusted sources' agreement", State(result, "t3").Reason);
        Assert.Equal(SourceSelectionStatus.DisagreesWithTrusted, State(result, "u").Status);
    }

    [Fact]
    public void RequireSourceMustSurviveForAnySelection()
    {
        SelectionResult failed = Select(
            Source("a", 0.0), Source("b", 0.001), Source("req", 0.3, options: SourceSelectOptions.Require));
        Assert.Equal(SelectionFailure.NoRequireSourceSelectable, failed.Failure);
        Assert.Equal("no 'require' source selectable", failed.FailureReason);
        Assert.Equal(SourceSelectionStatus.Falseticker, State(failed, "req").Status);
        Assert.Equal(SourceSelectionStatus.WaitingForOthers, State(failed, "a").Status);

        SelectionResult ok = Select(
            Source("a", 0.0), Source("b", 0.001), Source("req", 0.002, 0.02, options: SourceSelectOptions.Require));
        Assert.Equal("a", ok.SystemPeer!.Name);
    }

    [Fact]
    public void TwoAgainstTwoDisjointHasNoMajorityAndSelectsNothing()
    {
        SelectionResult result = Select(
            Source("a", 0.0), Source("b", 0.001), Source("c", 0.1), Source("d", 0.101));

        Assert.Equal(SelectionFailure.NoMajority, result.Failure);
        Assert.StartsWith("no majority agreement", result.FailureReason);
        Assert.Null(result.SystemPeer);
        Assert.All(result.Sources, s => Assert.Equal(SourceSelectionStatus.WaitingForOthers, s.Status));
    }

    [Fact]
    public void NoCandidatesMeansNoSelectableSources()
    {
        SelectionResult result = Select();

        Assert.Equal(SelectionFailure.NoSelectableSources, result.Failure);
        Assert.Empty(result.Sources);
    }

    [Fact]
    public void LeapSecondIsAnnouncedOnlyWhenMoreThanHalfOfTheCombinedSourcesAnnounceIt()
    {
        SelectionResult majority = Select(
            Source("a", 0.0, leap: LeapIndicator.InsertSecond), Source("b", 0.0, leap: LeapIndicator.InsertSecond), Source("c", 0.0));
        Assert.Equal(LeapIndicator.InsertSecond, majority.Leap);

        SelectionResult minority = Select(
            Source("a", 0.0, leap: LeapIndicator.DeleteSecond), Source("b", 0.0), Source("c", 0.0));
        Assert.Equal(LeapIndicator.NoWarning, minority.Leap);
    }

    [Fact]
    public void EqualDistancesBreakTiesByStratumThenName()
    {
        SelectionResult byName = Select(Source("zulu", 0.0), Source("alpha", 0.0), Source("mike", 0.0));
        Assert.Equal("alpha", byName.SystemPeer!.Name);

        SelectionResult byStratum = Select(Source("alpha", 0.0, stratum: 3), Source("zulu", 0.0, stratum: 1));
        Assert.Equal("zulu", byStratum.SystemPeer!.Name);
        Assert.Equal(2, byStratum.Stratum);
    }

    [Fact]
    public void ResultDoesNotDependOnTheOrderOfTheCandidates()
    {
        SelectionCandidate[] sources =
        [
            Source("a", 0.001, 0.010), Source("b", -0.002, 0.020), Source("c", 0.000, 0.010), Source("d", 0.004, 0.015),
        ];
        SelectionResult forward = SourceSelector.Select(sources, SelectionOptions.Default);
        SelectionResult backward = SourceSelector.Select(sources.Reverse().ToArray(), SelectionOptions.Default);

        Assert.Equal(forward.SystemPeer, backward.SystemPeer);
        Assert.Equal(forward.CombinedOffset, backward.CombinedOffset, 15);
        Assert.Equal(forward.Sources.OrderBy(s => s.Name), backward.Sources.OrderBy(s => s.Name));
    }

    [Fact]
    public void CombinedOffsetWeighsSurvivorsByTheInverseOfTheirRootDistance()
    {
        SelectionResult result = Select(Source("a", 0.010, 0.010), Source("b", 0.000, 0.020));

        // Weights 1/0.010 and 1/0.020: (100 × 0.010 + 50 × 0) / 150.
        Assert.Equal(0.010 * 2 / 3, result.CombinedOffset, 12);
        Assert.Contains("weight 66.7%", State(result, "a").Reason);
        Assert.Contains("weight 33.3%", State(result, "b").Reason);
    }

    [Fact]
    public void SurvivorBeyondCombineLimitIsNotCombined()
    {
        SelectionResult result = Select(Source("a", 0.0, 0.010), Source("far", 0.02, 0.040));

        Assert.Equal(SourceSelectionStatus.DistanceTooLargeToCombine, State(result, "far").Status);
        Assert.Equal('D', State(result, "far").SelectDataState);
        Assert.Equal('-', State(result, "far").SourcesState);
        Assert.Equal(0.0, result.CombinedOffset);
    }

    [Fact]
    public void SystemVariablesComeFromTheSystemPeer()
    {
        SelectionCandidate peer = Source("a", 0.0, stratum: 1) with { RootDelay = 0.004, RootDispersion = 0.003, ReferenceId = 0x7F000001 };
        SelectionResult result = Select(peer);

        Assert.Equal(2, result.Stratum);
        Assert.Equal(0x7F000001u, result.ReferenceId);
        Assert.Equal(0.004, result.RootDelay);
        Assert.Equal(0.003, result.RootDispersion);
        Assert.Equal(LeapIndicator.NoWarning, result.Leap);
    }

    [Fact]
    public void DuplicateNamesAndNonFiniteValuesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Select(Source("a", 0.0), Source("a", 0.1)));
        Assert.Throws<ArgumentException>(() => Select(Source("a", double.NaN)));
        Assert.Throws<ArgumentException>(() => Select(Source("a", 0.0, -1)));
        Assert.Throws<ArgumentException>(() => Select(SelectionOptions.Default with { MinSources = 0 }, Source("a", 0.0)));
    }
}
