using Tempus.Audit;
using Tempus.Control;
using Tempus.Selection;

namespace Tempus.Tests.Audit;

/// <summary>Live mode's reading of the daemon's source reports.</summary>
public sealed class LiveAuditorTests
{
    private static readonly TrackingReport s_synchronized = new() { Stratum = 3, ReferenceTimeUnixNs = 1 };

    private static SourceReport Nts(string name, double keAgo = 12, int cookies = 8, bool authenticated = true) => new()
    {
        Name = name,
        Authentication = SourceAuthentication.Nts,
        NtsKeAgo = keAgo,
        NtsCookies = cookies,
        LastResponseAuthenticated = authenticated,
        TotalValidRx = authenticated ? 5 : 0,
        KeyType = "AES-SIV-CMAC-256",
        Status = SourceSelectionStatus.Selected,
    };

    private static SourceReport Plain(string name, SourceSelectionStatus status) => new() { Name = name, Status = status, Pool = "pool.example" };

    [Fact]
    public void NtsIsInForceWhenTheKeyExchangeIsDoneCookiesAreHeldAndTheLastResponseWasAuthenticated()
    {
        AuditFinding finding = Assert.Single(LiveAuditor.Audit([Nts("a")], s_synchronized, AuthSelectMode.Require));
        Assert.Equal((AuditSeverity.Info, AuditCodes.NtsInForce, "a"), (finding.Severity, finding.Code, finding.Source));
        Assert.Contains("8 cookies", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1, 8, true, "no NTS-KE has been made")]
    [InlineData(12, 0, true, "no cookies are held")]
    [InlineData(12, 8, false, "no authenticated response has arrived")]
    public void NtsIsNotInForceWhenAnyPartIsMissing(double keAgo, int cookies, bool authenticated, string says)
    {
        SourceReport source = Nts("a", keAgo, cookies, authenticated) with { LastAuthenticationError = "NTS-KE to a:4460 timed out" };
        AuditFinding finding = Assert.Single(LiveAuditor.Audit([source], s_synchronized, AuthSelectMode.Require));
        Assert.Equal((AuditSeverity.Failure, AuditCodes.NtsNotInForce), (finding.Severity, finding.Code));
        Assert.Contains(says, finding.Message, StringComparison.Ordinal);
        Assert.Contains("timed out", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASymmetricKeyIsInForceOnlyWithAnAuthenticatedResponse()
    {
        var ok = new SourceReport { Name = "k", Authentication = SourceAuthentication.SymmetricKey, KeyId = 5, KeyType = "AES128", KeyBits = 128, LastResponseAuthenticated = true };
        Assert.Equal(AuditCodes.SymmetricKeyInForce, Assert.Single(LiveAuditor.Audit([ok], s_synchronized, AuthSelectMode.Require)).Code);
        AuditFinding bad = Assert.Single(LiveAuditor.Audit([ok with { LastResponseAuthenticated = false }], s_synchronized, AuthSelectMode.Require));
        Assert.Equal((AuditSeverity.Failure, AuditCodes.SymmetricKeyNotInForce), (bad.Severity, bad.Code));
    }

    [Theory]
    [InlineData(SourceSelectionStatus.Selected, AuthSelectMode.Require, "it is the system peer")]
    [InlineData(SourceSelectionStatus.Combined, AuthSelectMode.Prefer, "combined")]
    [InlineData(SourceSelectionStatus.Falseticker, AuthSelectMode.Mix, "authselectmode mix")]
    [InlineData(SourceSelectionStatus.Unreachable, AuthSelectMode.Ignore, "authselectmode ignore")]
    public void AnUnauthenticatedSourceThatIsSelectedCombinedOrSelectableCanSteer(SourceSelectionStatus status, AuthSelectMode mode, string says)
    {
        IReadOnlyList<AuditFinding> findings = LiveAuditor.Audit([Nts("a"), Plain("192.0.2.1", status)], s_synchronized, mode);
        AuditFinding plain = Assert.Single(findings, f => f.Code == AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Equal("192.0.2.1 (pool pool.example)", plain.Source);
        Assert.Contains(says, plain.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(SourceSelectionStatus.Unauthenticated, AuthSelectMode.Prefer)]
    [InlineData(SourceSelectionStatus.NoSelect, AuthSelectMode.Ignore)]
    [InlineData(SourceSelectionStatus.Falseticker, AuthSelectMode.Require)]
    public void AnUnauthenticatedSourceThatIsExcludedCannotSteer(SourceSelectionStatus status, AuthSelectMode mode)
    {
        IReadOnlyList<AuditFinding> findings = LiveAuditor.Audit([Nts("a"), Plain("192.0.2.1", status)], s_synchronized, mode);
        Assert.DoesNotContain(findings, f => f.Code == AuditCodes.UnauthenticatedSourceCanSteer);
        Assert.Equal(AuditSeverity.Info, Assert.Single(findings, f => f.Code == AuditCodes.UnauthenticatedSource).Severity);
    }

    [Fact]
    public void UnderPreferWithNoAuthenticatedSourceAPlainSourceCanSteer() =>
        Assert.Single(LiveAuditor.Audit([Plain("192.0.2.1", SourceSelectionStatus.Unreachable)], s_synchronized, AuthSelectMode.Prefer), f => f.Code == AuditCodes.UnauthenticatedSourceCanSteer);

    [Fact]
    public void AnUnsynchronizedDaemonIsAWarning()
    {
        AuditFinding finding = Assert.Single(LiveAuditor.Audit([], new TrackingReport(), AuthSelectMode.Prefer));
        Assert.Equal((AuditSeverity.Warning, AuditCodes.NotSynchronized), (finding.Severity, finding.Code));
        Assert.Empty(LiveAuditor.Audit([], s_synchronized, AuthSelectMode.Prefer));
    }
}
