using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Tests.Selection;

public sealed class SourceSelectorLoopAndJitterTests
{
    private const uint OurAddress = 0xC0A80001; // 192.168.0.1

    private static SelectionCandidate Source(string name, double offset, double jitter = 0.0001, uint upstream = 0x0A000001) =>
        new(name, SourceAuthentication.Nts, SourceSelectOptions.None, Reachable: true, Stratum: 2, LeapIndicator.NoWarning,
            offset, RootDistance: 0.010, RootDelay: 0.002, RootDispersion: 0.001, ReferenceId: (uint)name.Length,
            Jitter: jitter, UpstreamReferenceId: upstream);

    private static readonly SelectionOptions s_options = SelectionOptions.Default with { OwnReferenceIds = new HashSet<uint> { OurAddress } };

    [Fact]
    public void ASourceSynchronizedToThisHostIsALoopAndNeverSelected()
    {
        SelectionResult result = SourceSelector.Select(
            [Source("a", 0.001), Source("loop", 0.0005, upstream: OurAddress)], s_options);

        SourceSelection loop = result.Sources.Single(s => s.Name == "loop");
        Assert.Equal(SourceSelectionStatus.Loop, loop.Status);
        Assert.Equal('L', loop.SelectDataState);
        Assert.Contains("C0A80001", loop.Reason);
        Assert.Equal("a", result.SystemPeer!.Name);
    }

    [Fact]
    public void WithoutOwnReferenceIdsNoSourceIsALoop()
    {
        SelectionResult result = SourceSelector.Select([Source("a", 0.001, upstream: OurAddress)], SelectionOptions.Default);

        Assert.Equal(SourceSelectionStatus.Selected, result.Sources.Single().Status);
    }

    [Fact]
    public void ASourceWithJitterAboveMaxJitterIsMarkedWithATilde()
    {
        SelectionResult result = SourceSelector.Select(
            [Source("calm", 0.001), Source("noisy", 0.001, jitter: 0.5)], s_options with { MaxJitter = 0.1 });

        SourceSelection noisy = result.Sources.Single(s => s.Name == "noisy");
        Assert.Equal(SourceSelectionStatus.Jittery, noisy.Status);
        Assert.Equal('~', noisy.SourcesState);
        Assert.Equal('~', noisy.SelectDataState);
        Assert.Contains("maxjitter", noisy.Reason);
        Assert.Equal("calm", result.SystemPeer!.Name);
    }

    [Fact]
    public void JitterAtTheLimitIsStillSelectable()
    {
        SelectionResult result = SourceSelector.Select([Source("a", 0.001, jitter: 0.1)], s_options with { MaxJitter = 0.1 });

        Assert.True(result.IsSynchronized);
    }

    [Fact]
    public void NonPositiveMaxJitterIsRejected()
    {
        Assert.Throws<ArgumentException>(() => SourceSelector.Select([Source("a", 0)], s_options with { MaxJitter = 0 }));
    }
}
