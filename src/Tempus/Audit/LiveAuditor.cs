using System.Globalization;
using Tempus.Control;
using Tempus.Selection;

namespace Tempus.Audit;

/// <summary>
/// The live findings of <c>tempusctl audit</c>: what the running daemon reports about each source. NTS is in force
/// when the key exchange is done, cookies are held and the last response was authenticated; a symmetric key is in
/// force when the last response was authenticated; otherwise the source is unauthenticated, and it can steer the clock
/// when it is the system peer, is combined with it, or is selectable under the effective authselectmode.
/// </summary>
public static class LiveAuditor
{
    /// <summary>Audits the daemon's reports.</summary>
    /// <param name="sources">What the daemon reports for each source.</param>
    /// <param name="tracking">The daemon's tracking report.</param>
    /// <param name="mode">The effective authselectmode (from the daemon's configuration; Tempus's default prefer when unknown).</param>
    public static IReadOnlyList<AuditFinding> Audit(IReadOnlyList<SourceReport> sources, TrackingReport tracking, AuthSelectMode mode)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(tracking);
        var findings = new List<AuditFinding>();
        bool anyAuthenticated = sources.Any(s => s.Authentication != SourceAuthentication.None);
        foreach (SourceReport source in sources)
        {
            string name = source.Pool is null ? source.Name : $"{source.Name} (pool {source.Pool})";
            switch (source.Authentication)
            {
                case SourceAuthentication.Nts:
                    findings.Add(Nts(source, name));
                    break;
                case SourceAuthentication.SymmetricKey:
                    findings.Add(source.LastResponseAuthenticated
                        ? new AuditFinding(AuditSeverity.Info, name, AuditCodes.SymmetricKeyInForce,
                            $"{name}: the last response was authenticated with key {source.KeyId} ({source.KeyType}, {source.KeyBits} bits)", "")
                        : new AuditFinding(AuditSeverity.Failure, name, AuditCodes.SymmetricKeyNotInForce,
                            $"{name} is configured with key {source.KeyId} but {(source.TotalValidRx == 0 ? "no authenticated response has arrived" : "the last response was not authenticated")}"
                            + Detail(source),
                            $"check that the server has key {source.KeyId} with the same type and value, and that UDP/{source.Port} is open"));
                    break;
                default:
                    findings.Add(Unauthenticated(source, name, mode, anyAuthenticated));
                    break;
            }
        }

        if (!tracking.IsSynchronized)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.NotSynchronized,
                "the daemon is not synchronized to any source (stratum 16)", "see the source findings above and 'tempusctl sources'"));
        }

        return findings;
    }

    private static AuditFinding Nts(SourceReport source, string name)
    {
        var missing = new List<string>();
        if (source.NtsKeAgo < 0)
        {
            missing.Add(source.NtsKeAttempts > 0
                ? string.Create(CultureInfo.InvariantCulture, $"no NTS-KE has succeeded ({source.NtsKeAttempts} attempts)")
                : "no NTS-KE has been made");
        }

        if (source.NtsCookies == 0)
        {
            missing.Add("no cookies are held");
        }

        if (!source.LastResponseAuthenticated)
        {
            missing.Add(source.TotalValidRx == 0 ? "no authenticated response has arrived" : "the last response was not authenticated");
        }

        if (missing.Count == 0)
        {
            return new AuditFinding(AuditSeverity.Info, name, AuditCodes.NtsInForce,
                string.Create(CultureInfo.InvariantCulture, $"{name}: NTS in force (NTS-KE {source.NtsKeAgo:0} s ago, {source.NtsCookies} cookies held, last response authenticated, {source.KeyType})"), "");
        }

        return new AuditFinding(AuditSeverity.Failure, name, AuditCodes.NtsNotInForce,
            $"{name} is configured for NTS but NTS is not in force: {string.Join(", ", missing)}" + Detail(source),
            "run 'tempusctl audit --config FILE' for the network checks (NTS-KE port, certificate, UDP), and see the daemon's log");
    }

    private static AuditFinding Unauthenticated(SourceReport source, string name, AuthSelectMode mode, bool anyAuthenticated)
    {
        string? how = source.Status switch
        {
            SourceSelectionStatus.Selected => "it is the system peer",
            SourceSelectionStatus.Combined => "it is combined with the system peer",
            SourceSelectionStatus.NoSelect or SourceSelectionStatus.Unauthenticated => null,
            _ when mode is AuthSelectMode.Ignore or AuthSelectMode.Mix => $"authselectmode {AuditConfigReader.ModeName(mode)} lets it be selected or combined",
            _ when mode == AuthSelectMode.Prefer && !anyAuthenticated => "no authenticated source is configured, so authselectmode prefer selects it like any other",
            _ => null,
        };
        if (how is null)
        {
            return new AuditFinding(AuditSeverity.Info, name, AuditCodes.UnauthenticatedSource,
                $"{name} is not authenticated but cannot steer the clock ({(source.Status == SourceSelectionStatus.NoSelect ? "noselect" : $"excluded by authselectmode {AuditConfigReader.ModeName(mode)}")})", "");
        }

        return new AuditFinding(AuditSeverity.Failure, name, AuditCodes.UnauthenticatedSourceCanSteer,
            $"{name} is not authenticated and can steer the clock: {how}; anyone on the path to it can shift this machine's time",
            $"remove it or add 'nts' to its line (if the server offers NTS), or set 'authselectmode require'");
    }

    private static string Detail(SourceReport source) =>
        source.LastAuthenticationError.Length > 0 ? $" (last error: {source.LastAuthenticationError})" : "";
}
