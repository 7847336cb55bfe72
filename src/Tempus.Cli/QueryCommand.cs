using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Ntp;
using Tempus.Protocol;

namespace Tempus.Cli;

/// <summary><c>tempusctl query HOST</c>: a one-shot client like ntpdig/sntp, with the authentication result.</summary>
internal static class QueryCommand
{
    public static Command Create()
    {
        var host = new Argument<string>("host") { Description = "server name or address" };
        var port = new Option<int>("--port", "-p") { Description = "NTP port", DefaultValueFactory = _ => 123 };
        var keyId = new Option<uint?>("--key", "-k") { Description = "symmetric key id to authenticate with (needs --keyfile)" };
        var keyFile = new Option<string?>("--keyfile") { Description = "key file (chrony or ntp.keys format)" };
        var timeout = new Option<double>("--timeout", "-t") { Description = "seconds to wait for each response", DefaultValueFactory = _ => 5 };
        var samples = new Option<int>("--samples", "-c") { Description = "number of exchanges; the one with the lowest delay is reported", DefaultValueFactory = _ => 1 };
        var interval = new Option<double>("--interval") { Description = "seconds between exchanges when --samples > 1", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var nts = new Option<bool>("--nts") { Description = "authenticate with NTS (RFC 8915): NTS-KE over TLS, then NTS-protected NTP" };
        var ntsPort = new Option<int>("--ntsport") { Description = "NTS-KE port", DefaultValueFactory = _ => 4460 };
        var ca = new Option<string[]>("--ca") { Description = "trust this CA certificate file or directory for NTS-KE (repeatable; like ntstrustedcerts)" };
        var noSystemCa = new Option<bool>("--no-system-ca") { Description = "do not trust the system CA store (like nosystemcert)" };
        var noCertTimeCheck = new Option<bool>("--no-cert-time-check") { Description = "accept certificates outside their validity dates (a clock known to be wrong)" };
        var ntsDumpDir = new Option<string?>("--ntsdumpdir") { Description = "keep the NTS session (keys and cookies) in this directory, so the next query needs no key exchange" };
        var aead = new Option<string[]>("--aead") { Description = "AEAD algorithms to offer, in order: 15 (AES-SIV-CMAC-256), 17 (AES-SIV-CMAC-512), 30 (AES-128-GCM-SIV)" };
        var command = new Command("query", "query an NTP server once and print offset, delay and how the answer was authenticated")
        {
            host, port, keyId, keyFile, timeout, samples, interval, json, nts, ntsPort, ca, noSystemCa, noCertTimeCheck, aead, ntsDumpDir,
        };
        command.SetAction((parse, cancellationToken) => parse.GetValue(nts)
            ? RunNtsAsync(
                parse.GetValue(host)!,
                parse.GetResult(port) is { Implicit: false } ? parse.GetValue(port) : null,
                parse.GetValue(ntsPort),
                new NtsQueryOptions(parse.GetValue(ca) ?? [], !parse.GetValue(noSystemCa), parse.GetValue(noCertTimeCheck), parse.GetValue(aead) ?? [], parse.GetValue(ntsDumpDir)),
                parse.GetValue(keyId) is not null,
                parse.GetValue(timeout),
                parse.GetValue(samples),
                parse.GetValue(interval),
                parse.GetValue(json),
                cancellationToken)
            : RunAsync(
            parse.GetValue(host)!,
            parse.GetValue(port),
            parse.GetValue(keyId),
            parse.GetValue(keyFile),
            parse.GetValue(timeout),
            parse.GetValue(samples),
            parse.GetValue(interval),
            parse.GetValue(json),
            cancellationToken));
        return command;
    }

    private static string? Validate(uint? keyId, string? keyFile, int port, int samples, double timeout, double interval) =>
        keyId is not null && keyFile is null ? "--key needs --keyfile"
        : port is < 1 or > 65535 ? "--port must be 1-65535"
        : samples is < 1 or > 100 ? "--samples must be 1-100"
        : !(timeout > 0 && timeout <= 600) ? "--timeout must be more than 0 and at most 600 seconds"
        : !(interval >= 0 && interval <= 600) ? "--interval must be 0-600 seconds"
        : null;

    private static async Task<int> RunAsync(string host, int port, uint? keyId, string? keyFile, double timeoutSeconds, int samples, double intervalSeconds, bool json, CancellationToken cancellationToken)
    {
        if (Validate(keyId, keyFile, port, samples, timeoutSeconds, intervalSeconds) is string problem)
        {
            Console.Error.WriteLine($"tempusctl: {problem}");
            return ExitCodes.Usage;
        }

        TimeSpan timeout = TimeSpan.FromSeconds(timeoutSeconds);
        TimeSpan interval = TimeSpan.FromSeconds(intervalSeconds);

        KeyRing? ring = null;
        SymmetricKey? key = null;
        try
        {
            if (keyId is uint id)
            {
                var warnings = new List<KeyFileWarning>();
                try
                {
                    ring = KeyRing.Load(keyFile!, warnings);
                }
                catch (KeyFileException e)
                {
                    Console.Error.WriteLine($"tempusctl: {e.Message}");
                    return ExitCodes.KeyError;
                }

                foreach (KeyFileWarning warning in warnings)
                {
                    Console.Error.WriteLine($"tempusctl: warning: {warning}");
                }

                if (!ring.TryGetKey(id, out SymmetricKey? found))
                {
                    Console.Error.WriteLine($"tempusctl: key {id} is not in {keyFile}");
                    return ExitCodes.KeyError;
                }

                key = found;
            }

            var client = new NtpClient(RealtimeClock.Instance);
            var results = new List<NtpQueryResult>();
            for (int i = 0; i < samples; i++)
            {
                if (i > 0)
                {
                    await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                }

                results.Add(await client.QueryAsync(host, port, key, timeout, cancellationToken).ConfigureAwait(false));
            }

            NtpQueryResult best = results.MinBy(r => r.Delay)!;
            Console.Write(json ? FormatJson(best, results) : FormatText(best, results));
            return ExitCodes.Success;
        }
        catch (NtpQueryException e)
        {
            Console.Error.WriteLine($"tempusctl: {e.Message}");
            return ExitCode(e);
        }
        finally
        {
            ring?.Dispose();
        }
    }

    private sealed record NtsQueryOptions(string[] TrustedCertificates, bool UseSystemCertificates, bool SkipCertificateTimeChecks, string[] Aeads, string? DumpDirectory);

    private static async Task<int> RunNtsAsync(string host, int? ntpPort, int ntsPort, NtsQueryOptions options, bool keyGiven, double timeoutSeconds, int samples, double intervalSeconds, bool json, CancellationToken cancellationToken)
    {
        string? problem = keyGiven ? "--nts and --key are two different authentications: pick one"
            : ntsPort is < 1 or > 65535 ? "--ntsport must be 1-65535"
            : Validate(null, null, ntpPort ?? 123, samples, timeoutSeconds, intervalSeconds);
        var aeads = new List<NtsAeadAlgorithm>();
        foreach (string name in options.Aeads.SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (!ushort.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out ushort id) || !Enum.IsDefined((NtsAeadAlgorithm)id) || !NtsAead.IsSupported((NtsAeadAlgorithm)id))
            {
                problem ??= $"--aead: '{name}' is not a supported NTS AEAD id (15, 17 or 30)";
                continue;
            }

            aeads.Add((NtsAeadAlgorithm)id);
        }

        if (problem is not null)
        {
            Console.Error.WriteLine($"tempusctl: {problem}");
            return ExitCodes.Usage;
        }

        TimeSpan timeout = TimeSpan.FromSeconds(timeoutSeconds);
        var keOptions = new NtsKeClientOptions
        {
            AeadAlgorithms = aeads.Count > 0 ? aeads : NtsKeClientOptions.DefaultAeadAlgorithms,
            TrustedCertificateFiles = options.TrustedCertificates.Where(File.Exists).ToArray(),
            TrustedCertificateDirectories = options.TrustedCertificates.Where(Directory.Exists).ToArray(),
            UseSystemCertificates = options.UseSystemCertificates,
            SkipCertificateTimeChecks = options.SkipCertificateTimeChecks,
            HandshakeTimeout = timeout,
            ResponseTimeout = timeout,
        };
        if (options.TrustedCertificates.FirstOrDefault(p => !File.Exists(p) && !Directory.Exists(p)) is string missing)
        {
            Console.Error.WriteLine($"tempusctl: --ca {missing}: No such file or directory");
            return ExitCodes.Usage;
        }

        var association = new NtsAssociation(
            host,
            ntsPort,
            keOptions,
            options.DumpDirectory is null ? null : new NtsSessionStore(options.DumpDirectory),
            RealtimeClock.Instance,
            refresh: TimeSpan.Zero,
            ntpPortOverride: ntpPort);
        try
        {
            var results = new List<NtpQueryResult>();
            for (int i = 0; i < samples; i++)
            {
                if (i > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(intervalSeconds), cancellationToken).ConfigureAwait(false);
                }

                results.Add(await association.QueryAsync(timeout, cancellationToken).ConfigureAwait(false));
            }

            NtpQueryResult best = results.MinBy(r => r.Delay)!;
            var details = new NtsDetails(association.Session!, association.KeyExchanges, association.NaksReceived);
            Console.Write(json ? FormatJson(best, results, details) : FormatText(best, results, details));
            return ExitCodes.Success;
        }
        catch (NtsKeException e)
        {
            Console.Error.WriteLine($"tempusctl: {e.Message}");
            return e.Reason switch
            {
                NtsKeFailureReason.Timeout => ExitCodes.Timeout,
                NtsKeFailureReason.ConnectionRefused or NtsKeFailureReason.DnsFailure or NtsKeFailureReason.ConnectionFailed => ExitCodes.Unreachable,
                _ => ExitCodes.NtsKeFailed,
            };
        }
        catch (NtpQueryException e)
        {
            Console.Error.WriteLine($"tempusctl: {e.Message}");
            return ExitCode(e);
        }
    }

    /// <summary>What the NTS exchange established, for the output.</summary>
    internal sealed record NtsDetails(NtsSession Session, int KeyExchanges, int NaksReceived);

    private static int ExitCode(NtpQueryException e) => e.Error switch
    {
        NtpQueryError.Timeout => ExitCodes.Timeout,
        NtpQueryError.Unreachable => ExitCodes.Unreachable,
        NtpQueryError.AuthenticationFailed => ExitCodes.AuthenticationFailed,
        NtpQueryError.CryptoNak or NtpQueryError.NtsNak => ExitCodes.CryptoNak,
        NtpQueryError.KissOfDeath => ExitCodes.KissOfDeath,
        _ => ExitCodes.InvalidResponse,
    };

    internal static string LeapName(LeapIndicator leap) => leap switch
    {
        LeapIndicator.NoWarning => "none",
        LeapIndicator.InsertSecond => "insert",
        LeapIndicator.DeleteSecond => "delete",
        _ => "unsynchronized",
    };

    internal static string AuthenticationName(AuthenticationMode mode) => mode switch
    {
        AuthenticationMode.SymmetricKey => "symmetric-key",
        AuthenticationMode.Nts => "nts",
        _ => "none",
    };

    internal static string FormatText(NtpQueryResult best, IReadOnlyList<NtpQueryResult> all, NtsDetails? nts = null)
    {
        NtpPacketHeader h = best.Header;
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        if (all.Count > 1)
        {
            foreach (NtpQueryResult r in all)
            {
                text.Append(c, $"sample: offset {r.Offset:+0.000000000;-0.000000000} s, delay {r.Delay:0.000000000} s\n");
            }
        }

        DateTime serverTime = h.TransmitTimestamp.ToDateTime(DateTime.UtcNow);
        text.Append(c, $"server {best.Host} ({best.Server}), NTPv{h.Version}, stratum {h.Stratum}, refid {ReferenceId.Format(h.ReferenceId, h.Stratum)}, leap {LeapName(h.Leap)}\n");
        text.Append(c, $"time {serverTime:yyyy-MM-ddTHH:mm:ss.fffffffZ} (server transmit)\n");
        text.Append(c, $"offset {best.Offset:+0.000000000;-0.000000000} s, delay {best.Delay:0.000000000} s\n");
        text.Append(c, $"precision 2^{h.Precision} ({Math.Pow(2, h.Precision) * 1e6:0.###} us), root delay {h.RootDelay.ToSeconds():0.000000} s, root dispersion {h.RootDispersion.ToSeconds():0.000000} s\n");
        text.Append(best.Authentication switch
        {
            AuthenticationMode.SymmetricKey => $"authenticated: symmetric key {best.KeyId} ({MacAlgorithms.ChronyName(best.KeyAlgorithm!.Value)})\n",
            AuthenticationMode.Nts => $"authenticated: NTS (AEAD {(int)nts!.Session.Algorithm} {nts.Session.Algorithm}, NTS-KE {nts.Session.KeServer}:{nts.Session.KePort}, NTP {nts.Session.NtpServer}:{nts.Session.NtpPort}, {(nts.KeyExchanges > 0 ? $"{nts.KeyExchanges} key exchange(s)" : "saved session, no key exchange")}, {nts.Session.Cookies.Count} cookies held)\n",
            _ => "authenticated: no (plain NTP; anyone on the path could have changed this answer)\n",
        });
        return text.ToString();
    }

    internal static string FormatJson(NtpQueryResult best, IReadOnlyList<NtpQueryResult> all, NtsDetails? nts = null)
    {
        NtpPacketHeader h = best.Header;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("server", best.Server.Address.ToString());
            w.WriteString("host", best.Host);
            w.WriteNumber("port", best.Server.Port);
            w.WriteNumber("offset", best.Offset);
            w.WriteNumber("delay", best.Delay);
            w.WriteNumber("stratum", h.Stratum);
            w.WriteString("leap", LeapName(h.Leap));
            w.WriteString("refid", ReferenceId.Format(h.ReferenceId, h.Stratum));
            w.WriteNumber("version", h.Version);
            w.WriteNumber("precision", h.Precision);
            w.WriteNumber("rootDelay", h.RootDelay.ToSeconds());
            w.WriteNumber("rootDispersion", h.RootDispersion.ToSeconds());
            w.WriteNumber("rootDistance", best.RootDistance);
            w.WriteString("serverTime", h.TransmitTimestamp.ToDateTime(DateTime.UtcNow).ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("authentication", AuthenticationName(best.Authentication));
            if (best.KeyId is uint id)
            {
                w.WriteNumber("keyId", id);
                w.WriteString("keyType", MacAlgorithms.ChronyName(best.KeyAlgorithm!.Value));
            }
            else
            {
                w.WriteNull("keyId");
                w.WriteNull("keyType");
            }

            if (nts is not null)
            {
                w.WriteStartObject("nts");
                w.WriteNumber("aead", (int)nts.Session.Algorithm);
                w.WriteString("keServer", nts.Session.KeServer);
                w.WriteNumber("kePort", nts.Session.KePort);
                w.WriteString("ntpServer", nts.Session.NtpServer);
                w.WriteNumber("ntpPort", nts.Session.NtpPort);
                w.WriteNumber("keyExchanges", nts.KeyExchanges);
                w.WriteNumber("naks", nts.NaksReceived);
                w.WriteNumber("cookiesHeld", nts.Session.Cookies.Count);
                w.WriteNumber("cookieLength", nts.Session.Cookies.Count > 0 ? nts.Session.Cookies.Peek().Length : 0);
                w.WriteEndObject();
            }

            w.WriteStartArray("samples");
            foreach (NtpQueryResult r in all)
            {
                w.WriteStartObject();
                w.WriteNumber("offset", r.Offset);
                w.WriteNumber("delay", r.Delay);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }
}
