using System.Globalization;
using Tempus.Auth;
using Tempus.Selection;

namespace Tempus.Audit;

/// <summary>
/// The configuration findings of <c>tempusctl audit</c>: how each source is authenticated and whether an
/// unauthenticated one can steer the clock under the effective authselectmode, the keys in use and the key file's
/// permissions, ntsdumpdir, makestep, nocerttimecheck, an open server without rate limiting, and the number of
/// sources. Reads nothing from the network.
/// </summary>
public static class ConfigAuditor
{
    /// <summary>Keys shorter than this many bits are reported (<see cref="AuditCodes.KeyShort"/>).</summary>
    public const int MinKeyBits = 128;

    /// <summary>Fewer selectable sources than this are reported (<see cref="AuditCodes.TooFewSources"/>).</summary>
    public const int MinSources = 3;

    /// <summary>Audits <paramref name="input"/> against this machine (<paramref name="environment"/>: mounts, users, file ownership).</summary>
    public static IReadOnlyList<AuditFinding> Audit(AuditInput input, AuditEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(environment);
        var findings = new List<AuditFinding>(input.ReadFindings);
        SourceFindings(input, findings);
        SelectionFindings(input, findings);
        KeyFindings(input, environment, findings);
        NtsFindings(input, environment, findings);
        if (input.Sources.Count > 0 && !input.MakeStep)
        {
            findings.Add(input.Dialect == ConfigDialect.Ntp
                ? new AuditFinding(AuditSeverity.Warning, null, AuditCodes.MakeStepMissing,
                    "'tinker step 0' turns stepping off: a clock that is wrong at boot (dead RTC battery, restored VM) is slewed at 0.5 ms/s, which takes days for an hour's error",
                    "remove 'tinker step 0' (ntpd then steps offsets over 128 ms), or start ntpd with -g for the first step")
                : new AuditFinding(AuditSeverity.Warning, null, AuditCodes.MakeStepMissing,
                    "no makestep: a clock that is wrong at boot (dead RTC battery, restored VM) is never stepped, only slewed, which takes days for an hour's error, and NTS may not start at all if the clock is outside the certificates' validity",
                    "add 'makestep 1 3' (step if the offset is over 1 s, during the first 3 clock updates)"));
        }

        if (input.ServesEveryone && !input.RateLimit)
        {
            findings.Add(input.Dialect == ConfigDialect.Ntp
                ? new AuditFinding(AuditSeverity.Warning, null, AuditCodes.ServerOpenWithoutRateLimit,
                    "the NTP server answers every address (restrict default has neither ignore nor noserve) and 'limited' is not set: anyone can use it as a load or reflection target",
                    "add 'limited kod' to 'restrict default' (and a 'discard' line), or restrict the server to your networks")
                : new AuditFinding(AuditSeverity.Warning, null, AuditCodes.ServerOpenWithoutRateLimit,
                    "the NTP server answers every address (allow all, 0/0 or ::/0) and there is no ratelimit: anyone can use it as a load or reflection target",
                    "add 'ratelimit interval 1 burst 16', or allow only your own networks"));
        }

        return findings;
    }

    /// <summary>
    /// Whether an unauthenticated source can steer the clock: it is not <c>noselect</c> and the effective mode lets
    /// it take part (ignore, mix; prefer when no authenticated source is configured; ntpd unless notrust covers it).
    /// </summary>
    public static bool CanSteer(AuditSource source, AuditInput input)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(input);
        if (source.Kind == AuditSourceKind.Refclock || source.Authentication != SourceAuthentication.None)
        {
            return (source.Options & SourceSelectOptions.NoSelect) == 0;
        }

        if ((source.Options & SourceSelectOptions.NoSelect) != 0)
        {
            return false;
        }

        if (input.Dialect == ConfigDialect.Ntp)
        {
            return !source.AuthenticationRequired && input.AuthSelectMode != AuthSelectMode.Require;
        }

        return input.AuthSelectMode switch
        {
            AuthSelectMode.Require => false,
            AuthSelectMode.Prefer => !HasAuthenticatedSource(input),
            _ => true,
        };
    }

    private static bool HasAuthenticatedSource(AuditInput input) =>
        input.Sources.Any(s => s.Kind != AuditSourceKind.Refclock && s.Authentication != SourceAuthentication.None);

    private static void SourceFindings(AuditInput input, List<AuditFinding> findings)
    {
        if (input.Sources.Count == 0)
        {
            findings.Add(new AuditFinding(AuditSeverity.Failure, null, AuditCodes.NoSources,
                $"{input.FileName} configures no time source: the clock is never synchronized",
                input.Dialect == ConfigDialect.Ntp ? "add 'server NAME nts iburst' lines (NTPsec) or 'server NAME key N iburst'" : "add 'server NAME iburst nts' lines for three or more NTS servers"));
            return;
        }

        foreach (AuditSource source in input.Sources)
        {
            if (source.Kind == AuditSourceKind.Refclock)
            {
                continue;
            }

            if (source.Nts)
            {
                findings.Add(new AuditFinding(AuditSeverity.Info, source.DisplayName, AuditCodes.SourceNts,
                    $"{source.DisplayName} ({source.Location}) is configured for NTS (NTS-KE on TCP/{source.NtsPort})", ""));
                if (source.NoCertificateValidation)
                {
                    findings.Add(new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.NtsCertificateNotVerified,
                        $"{source.DisplayName} ({source.Location}) has 'noval': its NTS-KE certificate is not verified, so anyone on the path can run the key exchange in its place and set the clock",
                        "remove 'noval'; for a private CA, give it with 'ca FILE' or 'nts ca FILE'"));
                }

                continue;
            }

            if (source.KeyId is uint keyId)
            {
                findings.Add(new AuditFinding(AuditSeverity.Info, source.DisplayName, AuditCodes.SourceSymmetricKey,
                    $"{source.DisplayName} ({source.Location}) is configured with symmetric key {keyId}", ""));
                continue;
            }

            if (CanSteer(source, input))
            {
                findings.Add(new AuditFinding(AuditSeverity.Failure, source.DisplayName, AuditCodes.UnauthenticatedSourceCanSteer,
                    $"{source.DisplayName} ({source.Location}) is not authenticated and can steer the clock: {SteerReason(input)}; anyone on the path to it can shift this machine's time",
                    SteerFix(source, input)));
            }
            else
            {
                string why = (source.Options & SourceSelectOptions.NoSelect) != 0 ? "it is noselect"
                    : source.AuthenticationRequired ? "a 'restrict ... notrust' line covers it"
                    : $"{input.AuthSelectModeOrigin} excludes unauthenticated sources while an authenticated one is configured";
                findings.Add(new AuditFinding(AuditSeverity.Info, source.DisplayName, AuditCodes.UnauthenticatedSource,
                    $"{source.DisplayName} ({source.Location}) is not authenticated but cannot steer the clock: {why}",
                    ""));
            }
        }
    }

    private static string SteerReason(AuditInput input) => input.Dialect == ConfigDialect.Ntp
        ? "ntpd has no authselectmode and believes any configured server that no 'restrict ... notrust' line covers"
        : input.AuthSelectMode switch
        {
            AuthSelectMode.Mix => HasAuthenticatedSource(input)
                ? $"under {input.AuthSelectModeOrigin} it is combined with the authenticated sources whenever its interval overlaps theirs"
                : $"under {input.AuthSelectModeOrigin} with no authenticated source configured, it is selected like any other",
            AuthSelectMode.Ignore => $"under {input.AuthSelectModeOrigin} authentication plays no part in selection",
            _ => $"under {input.AuthSelectModeOrigin} plain sources are used when no authenticated source is configured, and none is",
        };

    private static string SteerFix(AuditSource source, AuditInput input)
    {
        string directive = source.Kind switch { AuditSourceKind.Pool => "pool", AuditSourceKind.Peer => "peer", _ => "server" };
        return input.Dialect switch
        {
            ConfigDialect.Ntp => $"remove the '{directive} {source.Host}' line, or add 'nts' (NTPsec, if the server offers NTS) or 'key N', or add 'restrict {source.Host} notrust'",
            _ when input.AuthSelectMode == AuthSelectMode.Prefer => $"remove the '{directive} {source.Host}' line or add 'nts' to it (if the server offers NTS), or add authenticated sources: with one configured, authselectmode prefer stops plain sources from steering",
            _ => $"remove the '{directive} {source.Host}' line or add 'nts' to it (if the server offers NTS), or set 'authselectmode require'",
        };
    }

    private static void SelectionFindings(AuditInput input, List<AuditFinding> findings)
    {
        if (input.Sources.Count == 0)
        {
            return;
        }

        if (input.Dialect == ConfigDialect.Ntp && input.AuthSelectMode == AuthSelectMode.Ignore)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.AuthSelectModeWeak,
                "ntpd has no authselectmode: unauthenticated servers take part in selection alongside authenticated ones",
                "authenticate every server (nts or key), or add 'notrust' to the restrict lines of the unauthenticated ones ('restrict default notrust' also refuses unauthenticated clients of this server)"));
        }
        else if (input.Dialect != ConfigDialect.Ntp && input.AuthSelectMode is AuthSelectMode.Mix or AuthSelectMode.Ignore)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.AuthSelectModeWeak,
                input.AuthSelectMode == AuthSelectMode.Mix
                    ? $"{input.AuthSelectModeOrigin}: unauthenticated sources are combined with authenticated ones, and are selected outright when no authenticated source is configured"
                    : $"{input.AuthSelectModeOrigin}: authentication plays no part in selection; an unauthenticated source can become the system peer",
                "set 'authselectmode require' (only authenticated sources are used) or 'prefer'"));
        }

        int selectable = input.Sources.Where(s => CanSteer(s, input)).Sum(s => s.Kind == AuditSourceKind.Pool ? s.MaxSources : 1);
        if (selectable == 0)
        {
            findings.Add(new AuditFinding(AuditSeverity.Failure, null, AuditCodes.TooFewSources,
                $"no configured source can be selected under {input.AuthSelectModeOrigin}: the clock is never synchronized",
                "add authenticated sources (nts or key), or remove noselect"));
        }
        else if (selectable < MinSources)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.TooFewSources,
                $"only {selectable} source{(selectable == 1 ? "" : "s")} can be selected: with fewer than three, one source with a wrong time cannot be outvoted",
                "configure at least three independent authenticated sources (four tolerate one falseticker with margin)"));
        }
    }

    private static void KeyFindings(AuditInput input, AuditEnvironment environment, List<AuditFinding> findings)
    {
        var usedBy = new Dictionary<uint, List<AuditSource>>();
        foreach (AuditSource source in input.Sources)
        {
            if (source.KeyId is uint id && !source.Nts)
            {
                if (!usedBy.TryGetValue(id, out List<AuditSource>? list))
                {
                    usedBy[id] = list = new List<AuditSource>();
                }

                list.Add(source);
            }
        }

        if (input.KeyFile is null)
        {
            foreach ((uint id, List<AuditSource> sources) in usedBy)
            {
                findings.Add(new AuditFinding(AuditSeverity.Failure, sources[0].DisplayName, AuditCodes.KeyFileMissing,
                    $"{sources[0].DisplayName} ({sources[0].Location}) uses key {id} but no key file is configured: its responses never authenticate",
                    input.Dialect == ConfigDialect.Ntp ? "add 'keys /etc/ntp.keys' and 'trustedkey N'" : "add 'keyfile /etc/tempus/tempus.keys' (chmod 600) with the key"));
            }

            return;
        }

        string keyFile = input.KeyFile;
        PermissionFindings(input, keyFile, environment, findings);

        string text;
        try
        {
            if (new FileInfo(keyFile).Length > KeyFile.MaxFileSize)
            {
                throw new KeyFileException(keyFile, 0, $"key file {keyFile} is larger than {KeyFile.MaxFileSize} bytes");
            }

            text = File.ReadAllText(keyFile);
        }
        catch (UnauthorizedAccessException)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.KeyFileUnreadable,
                $"the audit cannot read the key file {keyFile} (running as uid {Interop.Libc.GetEffectiveUserId()}), so the keys were not checked",
                "run the audit as root or as the daemon's user"));
            return;
        }
        catch (Exception e) when (e is IOException or KeyFileException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory" : e.Message;
            findings.Add(new AuditFinding(AuditSeverity.Failure, null, AuditCodes.KeyFileInvalid,
                $"the key file {keyFile} cannot be read: {why}; every symmetric-key source fails", "create the key file (tempusctl keygen), or correct the keyfile path"));
            return;
        }

        IReadOnlyList<SymmetricKey> keys;
        try
        {
            keys = KeyFile.Parse(text, keyFile, new List<KeyFileWarning>());
        }
        catch (KeyFileException e)
        {
            findings.Add(new AuditFinding(AuditSeverity.Failure, null, AuditCodes.KeyFileInvalid,
                $"{e.Message}: the daemon cannot load the key file, so every symmetric-key source fails", "correct the line (tempusctl keygen writes valid keys)"));
            return;
        }

        try
        {
            var byId = keys.ToDictionary(k => k.Id);
            foreach ((uint id, List<AuditSource> sources) in usedBy)
            {
                AuditSource first = sources[0];
                if (!byId.TryGetValue(id, out SymmetricKey? key))
                {
                    findings.Add(new AuditFinding(AuditSeverity.Failure, first.DisplayName, AuditCodes.KeyMissing,
                        $"{first.DisplayName} ({first.Location}) uses key {id}, which {keyFile} does not define: its responses never authenticate",
                        $"add key {id} to {keyFile} (the same key as the server's)"));
                    continue;
                }

                if (input.TrustedKeys is { } trusted && !trusted.Contains(id))
                {
                    findings.Add(new AuditFinding(AuditSeverity.Failure, first.DisplayName, AuditCodes.KeyUntrusted,
                        $"{first.DisplayName} ({first.Location}) uses key {id}, which is not listed in trustedkey: its responses never authenticate",
                        $"add {id} to the trustedkey line"));
                }

                KeyStrength(key, first.DisplayName, $"{first.DisplayName} ({first.Location}) uses {key}", findings);
            }

            // A server answers its clients with any trusted key of the file.
            if (input.ServesNtp)
            {
                foreach (SymmetricKey key in keys.Where(k => !usedBy.ContainsKey(k.Id) && (input.TrustedKeys is null || input.TrustedKeys.Contains(k.Id))))
                {
                    KeyStrength(key, null, $"clients of this server can authenticate with {key}", findings);
                }
            }
        }
        finally
        {
            foreach (SymmetricKey key in keys)
            {
                key.Dispose();
            }
        }
    }

    private static void KeyStrength(SymmetricKey key, string? source, string use, List<AuditFinding> findings)
    {
        string name = MacAlgorithms.ChronyName(key.Algorithm);
        if (key.Algorithm == MacAlgorithm.Md5)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, source, AuditCodes.KeyMd5,
                $"{use}: MD5, which RFC 8573 deprecates for NTP",
                "replace it with an AES128 key on both sides (tempusctl keygen --type AES128)"));
        }
        else if (key.Algorithm == MacAlgorithm.Sha1)
        {
            findings.Add(new AuditFinding(AuditSeverity.Info, source, AuditCodes.KeySha1,
                $"{use}: SHA1 as a keyed prefix MAC has no practical attack known, but RFC 8573 recommends AES-CMAC",
                "when convenient, move both sides to an AES128 key"));
        }

        if (key.KeyLengthBits < MinKeyBits)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, source, AuditCodes.KeyShort,
                $"{use}: only {key.KeyLengthBits.ToString(CultureInfo.InvariantCulture)} bits ({name}), within reach of an offline search from one captured packet",
                "replace it with a random key of at least 128 bits (tempusctl keygen writes 128-bit AES keys)"));
        }
    }

    private static void PermissionFindings(AuditInput input, string keyFile, AuditEnvironment environment, List<AuditFinding> findings)
    {
        (FileOwnership? ownership, string? error) = environment.GetOwnership(keyFile);
        if (ownership is null)
        {
            // A missing file is reported when reading it.
            _ = error;
            return;
        }

        (string user, string origin) = DaemonUser(input, environment);
        (uint Uid, IReadOnlySet<uint> Gids)? account = environment.LookUpUser(user);

        // Group-readable is how a daemon that drops root reads a root-owned key file (chrony's packages: 0640
        // root:_chrony); it is a leak only when the group is not the daemon user's own.
        bool groupIsDaemons = account is { } a && a.Uid != 0 && environment.PrimaryGroup(user) == ownership.Gid;
        bool groupLeak = (ownership.Mode & UnixFileMode.GroupRead) != 0 && !groupIsDaemons;
        if ((ownership.Mode & UnixFileMode.OtherRead) != 0 || groupLeak)
        {
            string octal = Convert.ToString((int)ownership.Mode, 8).PadLeft(4, '0');
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.KeyFilePermissions,
                $"the key file {keyFile} is readable by {((ownership.Mode & UnixFileMode.OtherRead) != 0 ? "everyone" : $"group gid {ownership.Gid}, which is not the daemon user's group")} (mode {octal}): local users can read the keys and forge authenticated time",
                user == "root" ? $"chmod 600 {keyFile}" : $"chown root:{user} {keyFile} && chmod 640 {keyFile}"));
        }

        if (account is not { } daemonAccount)
        {
            return;
        }

        bool readable = daemonAccount.Uid == 0
            || (ownership.Uid == daemonAccount.Uid ? (ownership.Mode & UnixFileMode.UserRead) != 0
                : daemonAccount.Gids.Contains(ownership.Gid) ? (ownership.Mode & UnixFileMode.GroupRead) != 0
                : (ownership.Mode & UnixFileMode.OtherRead) != 0);
        if (!readable)
        {
            string octal = Convert.ToString((int)ownership.Mode, 8).PadLeft(4, '0');
            findings.Add(new AuditFinding(AuditSeverity.Failure, null, AuditCodes.KeyFileUnreadableByDaemon,
                $"the daemon runs as '{user}' ({origin}), which cannot read the key file {keyFile} (owner uid {ownership.Uid}, group gid {ownership.Gid}, mode {octal}): symmetric-key authentication fails",
                $"chown root:{user} {keyFile} && chmod 640 {keyFile}"));
        }
    }

    private static (string User, string Origin) DaemonUser(AuditInput input, AuditEnvironment environment)
    {
        if (input.User is string user)
        {
            return (user, "the 'user' directive");
        }

        string[] defaults = input.Dialect switch
        {
            ConfigDialect.Chrony => ["_chrony", "chrony"],
            ConfigDialect.Ntp => ["ntpsec", "ntp"],
            _ => [],
        };
        foreach (string candidate in defaults)
        {
            if (environment.UserExists(candidate))
            {
                return (candidate, input.Dialect == ConfigDialect.Chrony ? "chronyd's packaged default user" : "ntpd's packaged -u user");
            }
        }

        return ("root", "the default");
    }

    private static void NtsFindings(AuditInput input, AuditEnvironment environment, List<AuditFinding> findings)
    {
        if (!input.Sources.Any(s => s.Nts))
        {
            return;
        }

        if (input.Dialect == ConfigDialect.Ntp)
        {
            findings.Add(new AuditFinding(AuditSeverity.Info, null, AuditCodes.NtsDumpDirMissing,
                "NTPsec keeps no NTS cookies across restarts: every restart runs NTS-KE with every server",
                "nothing to configure in NTPsec; chrony and Tempus save cookies with ntsdumpdir"));
        }
        else if (input.NtsDumpDirectory is null)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.NtsDumpDirMissing,
                "no ntsdumpdir: NTS cookies are kept in memory only, so every restart runs NTS-KE with every server (a key exchange storm after a reboot of many machines, and no time at all while the NTS-KE servers are unreachable)",
                input.Dialect == ConfigDialect.Chrony ? "add 'ntsdumpdir /var/lib/chrony'" : "add 'ntsdumpdir /var/lib/tempus'"));
        }
        else if (environment.FileSystemType(input.NtsDumpDirectory) is "tmpfs" or "ramfs" && input.NtsDumpDirectory is string dump)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.NtsDumpDirTmpfs,
                $"ntsdumpdir {dump} is on tmpfs: the saved cookies survive a daemon restart but not a reboot, when they are needed most",
                input.Dialect == ConfigDialect.Chrony ? "use a directory on persistent storage, e.g. 'ntsdumpdir /var/lib/chrony'" : "use a directory on persistent storage, e.g. 'ntsdumpdir /var/lib/tempus'"));
        }

        if (input.NoCertTimeCheckUpdates > 0)
        {
            findings.Add(new AuditFinding(AuditSeverity.Warning, null, AuditCodes.NoCertTimeCheck,
                $"nocerttimecheck {input.NoCertTimeCheckUpdates}: for the first {input.NoCertTimeCheckUpdates} clock update(s) certificates are accepted outside their validity dates. That lets a machine with no working RTC start NTS, but whoever holds the key of an expired (perhaps leaked, no longer revoked) certificate for the server can impersonate it at boot and set the clock",
                "remove it if this machine has a working RTC; otherwise keep it at 1 and keep makestep's limit small"));
        }
    }
}
