using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tempus.Control;

/// <summary>One request of the control protocol.</summary>
public sealed record ControlRequest
{
    /// <summary>Protocol version the client speaks; 0 when the field is missing.</summary>
    [JsonPropertyName("version")]
    public int Version { get; init; }

    /// <summary>One of <see cref="ControlCommands"/>.</summary>
    [JsonPropertyName("command")]
    public string? Command { get; init; }

    /// <summary>The command's arguments, or null.</summary>
    [JsonPropertyName("args")]
    public ControlRequestArgs? Args { get; init; }
}

/// <summary>The arguments any command may take; each command reads the ones it defines.</summary>
public sealed record ControlRequestArgs
{
    /// <summary><c>online</c>/<c>offline</c>: the source's address or name; null for every source.</summary>
    [JsonPropertyName("address")]
    public string? Address { get; init; }

    /// <summary><c>clients</c>: report NTS-KE columns instead of command columns.</summary>
    [JsonPropertyName("ntsKe")]
    public bool NtsKe { get; init; }

    /// <summary><c>clients -p</c>: report only clients with at least this many requests (NTS-KE connections with <see cref="NtsKe"/>); 0 or 1 reports every client.</summary>
    [JsonPropertyName("minPackets")]
    public long MinPackets { get; init; }

    /// <summary><c>clients -r</c>: zero the reported clients' counters after reporting them (privileged).</summary>
    [JsonPropertyName("reset")]
    public bool Reset { get; init; }
}

/// <summary>One response of the control protocol.</summary>
public sealed record ControlResponse
{
    /// <summary>The protocol version of the daemon.</summary>
    [JsonPropertyName("version")]
    public int Version { get; init; } = ControlProtocol.Version;

    /// <summary><c>ok</c> or <c>error</c>.</summary>
    [JsonPropertyName("status")]
    public string Status { get; init; } = StatusOk;

    /// <summary>For an error: one of <see cref="ControlErrorCodes"/>.</summary>
    [JsonPropertyName("code")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Code { get; init; }

    /// <summary>For an error: what went wrong and what to do, one sentence.</summary>
    [JsonPropertyName("error")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    /// <summary>For a version error: the versions the daemon speaks.</summary>
    [JsonPropertyName("supportedVersions")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<int>? SupportedVersions { get; init; }

    /// <summary>The command's result: a report, a list of reports, or a <see cref="ControlActionResult"/>.</summary>
    [JsonPropertyName("data")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Data { get; init; }

    /// <summary>The value of <see cref="Status"/> for success.</summary>
    public const string StatusOk = "ok";

    /// <summary>The value of <see cref="Status"/> for failure.</summary>
    public const string StatusError = "error";

    /// <summary>Whether the command succeeded.</summary>
    [JsonIgnore]
    public bool IsOk => Status == StatusOk;

    /// <summary>An error response.</summary>
    /// <param name="code">One of <see cref="ControlErrorCodes"/>.</param>
    /// <param name="message">What went wrong, one sentence.</param>
    public static ControlResponse Failure(string code, string message) =>
        new() { Status = StatusError, Code = code, Error = message };
}

/// <summary>The data of a changing command's response.</summary>
/// <param name="Sources">How many sources the command acted on (online/offline/rekey/reload), else 0.</param>
public sealed record ControlActionResult([property: JsonPropertyName("sources")] int Sources);

/// <summary>
/// Source-generated serialization of the protocol (no reflection: tempusd and tempusctl publish NativeAOT).
/// Enums are written as their names; properties in camelCase.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    MaxDepth = 16)]
[JsonSerializable(typeof(ControlRequest))]
[JsonSerializable(typeof(ControlResponse))]
[JsonSerializable(typeof(ControlActionResult))]
[JsonSerializable(typeof(TrackingReport))]
[JsonSerializable(typeof(SourceReport[]))]
[JsonSerializable(typeof(ActivityReport))]
[JsonSerializable(typeof(ServerStatsReport))]
[JsonSerializable(typeof(ClientReport[]))]
public sealed partial class ControlJsonContext : JsonSerializerContext;
