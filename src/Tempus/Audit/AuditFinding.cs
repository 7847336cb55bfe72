namespace Tempus.Audit;

/// <summary>How serious a finding is; the highest severity found sets <c>tempusctl audit</c>'s exit code.</summary>
public enum AuditSeverity
{
    /// <summary>A fact worth knowing (a source is authenticated, a check passed); exit code 0.</summary>
    Info = 0,

    /// <summary>A weakness that does not by itself let an attacker set the clock; exit code 1.</summary>
    Warning = 1,

    /// <summary>Authentication is not in force, or something prevents time sync; exit code 2.</summary>
    Failure = 2,
}

/// <summary>One result of an audit.</summary>
/// <param name="Severity">How serious it is.</param>
/// <param name="Source">The source it is about, as configured (host name or address), or null for the configuration as a whole.</param>
/// <param name="Code">A stable kebab-case identifier from <see cref="AuditCodes"/>, for scripts and monitoring.</param>
/// <param name="Message">What was found, in one or two sentences.</param>
/// <param name="Fix">What to do about it; empty for findings that need nothing done.</param>
public sealed record AuditFinding(AuditSeverity Severity, string? Source, string Code, string Message, string Fix)
{
    /// <summary>The exit code of <c>tempusctl audit</c> for a list of findings: 0 with info only, 1 with warnings, 2 with failures.</summary>
    public static int ExitCode(IEnumerable<AuditFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        AuditSeverity worst = AuditSeverity.Info;
        foreach (AuditFinding finding in findings)
        {
            if (finding.Severity > worst)
            {
                worst = finding.Severity;
            }
        }

        return (int)worst;
    }

    /// <summary>The severity as written in the table and in JSON: <c>info</c>, <c>warning</c> or <c>failure</c>.</summary>
    public static string SeverityName(AuditSeverity severity) => severity switch
    {
        AuditSeverity.Failure => "failure",
        AuditSeverity.Warning => "warning",
        _ => "info",
    };
}
