using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tempus.Audit;

/// <summary>
/// The JSON form of an audit, as <c>tempusctl audit --json</c> prints it:
/// <c>{"findings": [{"severity": "failure"|"warning"|"info", "source": ..., "code": ..., "message": ..., "fix": ...}]}</c>,
/// with <c>source</c> null for findings about the configuration as a whole.
/// </summary>
public static class AuditJson
{
    // Relaxed escaping: messages quote directives ('nts'), which the default encoder would write as \u0027.
    private static readonly AuditJsonContext s_context = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>Serializes the findings in order, with System.Text.Json's source generator (no reflection, AOT-safe).</summary>
    public static string Serialize(IEnumerable<AuditFinding> findings)
    {
        ArgumentNullException.ThrowIfNull(findings);
        var report = new JsonReport(findings.Select(f => new JsonFinding(AuditFinding.SeverityName(f.Severity), f.Source, f.Code, f.Message, f.Fix)).ToList());
        return JsonSerializer.Serialize(report, s_context.JsonReport);
    }

    internal sealed record JsonFinding(string Severity, string? Source, string Code, string Message, string Fix);

    internal sealed record JsonReport(List<JsonFinding> Findings);
}

/// <summary>Source-generated serializer for <see cref="AuditJson"/>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(AuditJson.JsonReport))]
internal sealed partial class AuditJsonContext : JsonSerializerContext;
