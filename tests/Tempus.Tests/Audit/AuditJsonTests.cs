using System.Text.Json;
using Tempus.Audit;

namespace Tempus.Tests.Audit;

public sealed class AuditJsonTests
{
    [Fact]
    public void TheJsonHasExactlyAFindingsArrayOfFiveFieldObjects()
    {
        string json = AuditJson.Serialize(
        [
            new AuditFinding(AuditSeverity.Failure, "pool p.example", AuditCodes.UnauthenticatedSourceCanSteer, "it can steer the clock", "add 'nts'"),
            new AuditFinding(AuditSeverity.Warning, null, AuditCodes.MakeStepMissing, "no makestep", "add 'makestep 1 3'"),
            new AuditFinding(AuditSeverity.Info, "a", AuditCodes.SourceNts, "NTS", ""),
        ]);

        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        Assert.Equal(["findings"], root.EnumerateObject().Select(p => p.Name));
        JsonElement[] findings = root.GetProperty("findings").EnumerateArray().ToArray();
        Assert.Equal(3, findings.Length);
        Assert.All(findings, f => Assert.Equal(["severity", "source", "code", "message", "fix"], f.EnumerateObject().Select(p => p.Name)));
        Assert.Equal(["failure", "warning", "info"], findings.Select(f => f.GetProperty("severity").GetString()));
        Assert.Equal(JsonValueKind.Null, findings[1].GetProperty("source").ValueKind);
        Assert.Equal("pool p.example", findings[0].GetProperty("source").GetString());
        Assert.Equal("unauthenticated-source-can-steer", findings[0].GetProperty("code").GetString());
        Assert.Equal("add 'nts'", findings[0].GetProperty("fix").GetString());
        Assert.Contains("'nts'", json, StringComparison.Ordinal);
    }

    [Fact]
    public void NoFindingsIsAnEmptyArray() => Assert.Equal("{\"findings\":[]}", AuditJson.Serialize([]));

    [Fact]
    public void TheExitCodeIsTheWorstSeverity()
    {
        Assert.Equal(0, AuditFinding.ExitCode([]));
        Assert.Equal(0, AuditFinding.ExitCode([new AuditFinding(AuditSeverity.Info, null, "x", "", "")]));
        Assert.Equal(1, AuditFinding.ExitCode([new AuditFinding(AuditSeverity.Info, null, "x", "", ""), new AuditFinding(AuditSeverity.Warning, null, "y", "", "")]));
        Assert.Equal(2, AuditFinding.ExitCode([new AuditFinding(AuditSeverity.Failure, null, "x", "", ""), new AuditFinding(AuditSeverity.Warning, null, "y", "", "")]));
    }

    [Fact]
    public void EveryCodeIsKebabCaseAndUnique()
    {
        string[] codes = typeof(AuditCodes).GetFields().Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToArray();
        Assert.True(codes.Length > 30);
        Assert.Equal(codes.Length, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(codes, c => Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", c));
    }
}
