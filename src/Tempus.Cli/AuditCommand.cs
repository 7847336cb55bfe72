using System.CommandLine;
using System.Globalization;
using System.Text;
using Tempus.Audit;
using Tempus.Config;
using Tempus.Control;
using Tempus.Selection;

namespace Tempus.Cli;

/// <summary>
/// <c>tempusctl audit</c>: is authentication really in force? File mode (<c>--config FILE</c>) audits a Tempus config,
/// a chrony.conf or an ntp.conf and runs network checks against its sources; live mode (the default) asks the running
/// tempusd what each source is doing. Exit code 0 when only info was found, 1 with warnings, 2 with failures.
/// </summary>
internal static class AuditCommand
{
    /// <summary>The configuration live mode reads when no <c>--config</c> is given.</summary>
    public const string DefaultConfigPath = "/etc/tempus/tempus.conf";

    // Per-source findings that live mode takes from the daemon instead of the file.
    private static readonly HashSet<string> s_sourceCodes = new(StringComparer.Ordinal)
    {
        AuditCodes.SourceNts, AuditCodes.SourceSymmetricKey, AuditCodes.UnauthenticatedSource, AuditCodes.UnauthenticatedSourceCanSteer,
    };

    public static Command Create()
    {
        var config = new Option<string?>("--config", "-f") { Description = "audit this configuration file instead of the running daemon (a Tempus config, chrony.conf or ntp.conf)", HelpName = "FILE" };
        var format = new Option<string?>("--format") { Description = "the file's language; detected from its name and directives when absent", HelpName = "tempus|chrony|ntp" };
        format.AcceptOnlyFromAmong("tempus", "chrony", "ntp");
        var live = new Option<bool>("--live") { Description = "ask the running tempusd even though --config is given (the file then supplies authselectmode and the configuration findings)" };
        var offline = new Option<bool>("--offline") { Description = "skip the network checks (for a configuration written for another machine)" };
        var timeout = new Option<double>("--timeout", "-t") { Description = "seconds allowed for each network step", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "print {\"findings\": [{\"severity\", \"source\", \"code\", \"message\", \"fix\"}...]}" };
        var command = new Command("audit", "check that authentication is really in force: NTS or symmetric keys per source, whether an unauthenticated source can steer the clock, keys, ntsdumpdir, makestep, reachability\n"
            + "Exit codes: 0 clean (info only); 1 warnings; 2 failures (or a usage error).")
        {
            config, format, live, offline, timeout, json,
        };
        command.SetAction((parse, cancellationToken) => RunAsync(
            new Request(
                parse.GetValue(config),
                parse.GetValue(format),
                parse.GetValue(live),
                parse.GetValue(offline),
                parse.GetValue(timeout),
                parse.GetValue(json),
                parse.GetValue(ControlVerb.Socket) ?? ControlProtocol.DefaultSocketPath),
            Console.Out,
            Console.Error,
            cancellationToken));
        return command;
    }

    internal sealed record Request(string? ConfigPath, string? Format, bool Live, bool Offline, double TimeoutSeconds, bool Json, string SocketPath);

    internal static async Task<int> RunAsync(Request request, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (!(request.TimeoutSeconds > 0 && request.TimeoutSeconds <= 60))
        {
            await stderr.WriteLineAsync("tempusctl: --timeout must be more than 0 and at most 60 seconds").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        bool liveMode = request.ConfigPath is null || request.Live;
        string? configPath = request.ConfigPath ?? (File.Exists(DefaultConfigPath) ? DefaultConfigPath : null);
        ConfigDialect? dialect = request.Format switch
        {
            "tempus" => ConfigDialect.Tempus,
            "chrony" => ConfigDialect.Chrony,
            "ntp" => ConfigDialect.Ntp,
            _ => null,
        };

        var findings = new List<AuditFinding>();
        AuditInput? input = null;
        if (configPath is not null)
        {
            try
            {
                input = AuditConfigReader.Read(configPath, dialect);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (!liveMode)
                {
                    string why = e is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory" : e is UnauthorizedAccessException ? "Permission denied" : e.Message;
                    await stderr.WriteLineAsync($"tempusctl: cannot read {configPath}: {why}").ConfigureAwait(false);
                    return ExitCodes.Usage;
                }

                findings.Add(new AuditFinding(AuditSeverity.Info, null, AuditCodes.ConfigLineIgnored,
                    $"cannot read {configPath} ({e.Message}): the configuration findings are missing", "run the audit as root, or give the daemon's configuration with --config FILE --live"));
            }
        }

        if (input is not null)
        {
            IEnumerable<AuditFinding> fromFile = ConfigAuditor.Audit(input, AuditEnvironment.System);
            findings.AddRange(liveMode ? fromFile.Where(f => !s_sourceCodes.Contains(f.Code)) : fromFile);
        }

        if (liveMode)
        {
            AuthSelectMode mode = input?.AuthSelectMode ?? SelectionOptions.Default.AuthSelectMode;
            try
            {
                var client = new ControlClient(request.SocketPath, TimeSpan.FromSeconds(Math.Max(5, request.TimeoutSeconds)));
                IReadOnlyList<SourceReport> sources = await client.GetSourcesAsync(cancellationToken).ConfigureAwait(false);
                TrackingReport tracking = await client.GetTrackingAsync(cancellationToken).ConfigureAwait(false);
                findings.AddRange(LiveAuditor.Audit(sources, tracking, mode));
            }
            catch (ControlClientException e)
            {
                findings.Add(new AuditFinding(AuditSeverity.Failure, null, AuditCodes.DaemonUnreachable,
                    $"cannot ask tempusd over {request.SocketPath}: {e.Message}",
                    "start tempusd, give its socket with --socket PATH, or audit a file with --config FILE"));
            }
        }

        if (input is not null && !request.Offline)
        {
            var network = new NetworkAuditor(TimeSpan.FromSeconds(request.TimeoutSeconds));
            findings.AddRange(await network.AuditAsync(input, cancellationToken).ConfigureAwait(false));
        }

        // Worst first; within a severity, in the order found (the configuration's order).
        List<AuditFinding> sorted = findings.OrderByDescending(f => f.Severity).ToList();
        await stdout.WriteAsync(request.Json ? AuditJson.Serialize(sorted) + "\n" : FormatTable(sorted)).ConfigureAwait(false);
        return AuditFinding.ExitCode(sorted);
    }

    /// <summary>The table: severity, source, code and message on one line, the fix indented below.</summary>
    internal static string FormatTable(IReadOnlyList<AuditFinding> findings)
    {
        var text = new StringBuilder();
        int sourceWidth = Math.Clamp(findings.Select(f => (f.Source ?? "-").Length).DefaultIfEmpty(6).Max(), 6, 40);
        int codeWidth = findings.Select(f => f.Code.Length).DefaultIfEmpty(4).Max();
        text.Append(CultureInfo.InvariantCulture, $"{"SEVERITY",-8} {"SOURCE".PadRight(sourceWidth)} {"CODE".PadRight(codeWidth)} MESSAGE / FIX\n");
        foreach (AuditFinding f in findings)
        {
            text.Append(CultureInfo.InvariantCulture, $"{AuditFinding.SeverityName(f.Severity),-8} {(f.Source ?? "-").PadRight(sourceWidth)} {f.Code.PadRight(codeWidth)} {f.Message}\n");
            if (f.Fix.Length > 0)
            {
                text.Append(' ', 8 + 1 + sourceWidth + 1 + codeWidth + 1).Append("fix: ").Append(f.Fix).Append('\n');
            }
        }

        int failures = findings.Count(f => f.Severity == AuditSeverity.Failure);
        int warnings = findings.Count(f => f.Severity == AuditSeverity.Warning);
        int infos = findings.Count - failures - warnings;
        text.Append(CultureInfo.InvariantCulture, $"{failures} failure(s), {warnings} warning(s), {infos} info\n");
        return text.ToString();
    }
}
