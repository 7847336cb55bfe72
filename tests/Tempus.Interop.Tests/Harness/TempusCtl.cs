using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// tempusctl's documented exit codes.
public static class TempusCtlExit
{
    public const int Ok = 0;
    public const int Usage = 2;
    public const int Timeout = 3;
    public const int Unreachable = 4;
    public const int AuthenticationFailed = 5;
    public const int CryptoNak = 6;
    public const int KissOfDeath = 7;
    public const int InvalidResponse = 8;
    public const int KeyProblem = 9;
    public const int NtsKeFailed = 10;
}

// What `tempusctl query --nts` offers and trusts; null leaves tempusctl's default.
public sealed record NtsQueryOptions
{
    public int? NtsPort { get; init; }

    // The NTP port to use when the NTS-KE server sends no Port record.
    public int? Port { get; init; }

    public string? CaFile { get; init; }

    // AEAD ids in order of preference (RFC 8915 §4.1.5): 15, 17, 30.
    public IReadOnlyList<int> Aeads { get; init; } = [];

    public bool NoCertTimeCheck { get; init; }

    public int TimeoutSeconds { get; init; } = 3;
}

public sealed class TempusCtl
{
    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromSeconds(30);

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;

    public TempusCtl(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
    }

    public Task<CommandResult> RunAsync(params string[] arguments) =>
        CommandLine.RunAsync(_paths.Tempusctl, arguments, s_commandTimeout, _output);

    public async Task<TempusQuery> QueryAsync(string host, int port, int? keyId = null, string? keyFile = null, int timeoutSeconds = 2)
    {
        List<string> arguments = ["query", host, "--port", Invariant(port), "--timeout", Invariant(timeoutSeconds), "--json"];
        if (keyId is not null)
        {
            arguments.AddRange(["--key", Invariant(keyId.Value)]);
        }

        if (keyFile is not null)
        {
            arguments.AddRange(["--keyfile", keyFile]);
        }

        return new TempusQuery(await RunAsync([.. arguments]));
    }

    public async Task<TempusQuery> QueryNtsAsync(string host, NtsQueryOptions options)
    {
        List<string> arguments = ["query", host, "--nts", "--json", "--timeout", Invariant(options.TimeoutSeconds)];
        if (options.NtsPort is int ntsPort)
        {
            arguments.AddRange(["--ntsport", Invariant(ntsPort)]);
        }

        if (options.Port is int port)
        {
            arguments.AddRange(["--port", Invariant(port)]);
        }

        if (options.CaFile is not null)
        {
            arguments.AddRange(["--ca", options.CaFile]);
        }

        foreach (int aead in options.Aeads)
        {
            arguments.AddRange(["--aead", Invariant(aead)]);
        }

        if (options.NoCertTimeCheck)
        {
            arguments.Add("--no-cert-time-check");
        }

        return new TempusQuery(await RunAsync([.. arguments]));
    }

    // Peers may need a moment after start before they serve (chronyd's local reference, NTPsec's orphan
    // mode); repeat the query for up to `within` while it times out, finds the port closed or gets an
    // answer that is not yet what the test needs. Any other failure is final and returned at once.
    public Task<TempusQuery> QueryUntilAsync(string host, int port, Func<TempusReport, bool> isReady, TimeSpan within, int? keyId = null, string? keyFile = null) =>
        Poll.UntilAsync(
            () => QueryAsync(host, port, keyId, keyFile),
            query => query.Command.ExitCode switch
            {
                TempusCtlExit.Ok => !query.TryReport(out TempusReport? report) || isReady(report!),
                TempusCtlExit.Timeout or TempusCtlExit.Unreachable => false,
                _ => true,
            },
            within,
            TimeSpan.FromSeconds(1));

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}

public sealed class TempusQuery
{
    public TempusQuery(CommandResult command) => Command = command;

    public CommandResult Command { get; }

    public bool TryReport(out TempusReport? report)
    {
        try
        {
            report = Report;
            return true;
        }
        catch (FormatException)
        {
            report = null;
            return false;
        }
    }

    // The --json object; a FormatException that quotes the whole command and output if it is not one.
    public TempusReport Report
    {
        get
        {
            try
            {
                using var document = JsonDocument.Parse(Command.Stdout);
                return TempusReport.From(document.RootElement);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new FormatException($"tempusctl --json output is not the documented object ({e.Message}):\n{Command}", e);
            }
        }
    }
}

public sealed record TempusReport(
    double Offset,
    double Delay,
    int Stratum,
    string Leap,
    string RefId,
    string Authentication,
    int? KeyId,
    string? KeyType,
    string Server,
    int Port,
    JsonElement Json)
{
    public static TempusReport From(JsonElement json) => new(
        json.GetProperty("offset").GetDouble(),
        json.GetProperty("delay").GetDouble(),
        json.GetProperty("stratum").GetInt32(),
        json.GetProperty("leap").GetString()!,
        json.GetProperty("refid").GetString()!,
        json.GetProperty("authentication").GetString()!,
        json.GetProperty("keyId").ValueKind == JsonValueKind.Null ? null : json.GetProperty("keyId").GetInt32(),
        json.GetProperty("keyType").ValueKind == JsonValueKind.Null ? null : json.GetProperty("keyType").GetString(),
        json.GetProperty("server").ToString(),
        json.GetProperty("port").GetInt32(),
        json.Clone());

    // The "nts" object of an NTS query; a KeyNotFoundException (with the JSON) if there is none.
    public NtsReport Nts => Json.TryGetProperty("nts", out JsonElement nts) && nts.ValueKind == JsonValueKind.Object
        ? NtsReport.From(nts)
        : throw new KeyNotFoundException($"no \"nts\" object in {Json}");
}

// tempusctl's "nts" object. KeyExchanges/Naks and CookiesFromKeyExchange came in different tempusctl
// versions; the ones this build does not print are null.
public sealed record NtsReport(
    int Aead,
    string KeServer,
    int KePort,
    string NtpServer,
    int NtpPort,
    int CookiesHeld,
    int CookieLength,
    int? KeyExchanges,
    int? Naks,
    int? CookiesFromKeyExchange)
{
    public static NtsReport From(JsonElement json) => new(
        json.GetProperty("aead").GetInt32(),
        json.GetProperty("keServer").GetString()!,
        json.GetProperty("kePort").GetInt32(),
        json.GetProperty("ntpServer").GetString()!,
        json.GetProperty("ntpPort").GetInt32(),
        json.GetProperty("cookiesHeld").GetInt32(),
        json.GetProperty("cookieLength").GetInt32(),
        Optional(json, "keyExchanges"),
        Optional(json, "naks"),
        Optional(json, "cookiesFromKeyExchange"));

    private static int? Optional(JsonElement json, string name) =>
        json.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;
}
