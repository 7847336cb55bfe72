using Tempus.Interop.Tests.Harness;

namespace Tempus.Interop.Tests;

// Assertions that print the whole command, its output and exit code when they fail.
internal static class Expect
{
    public static void Exit(CommandResult result, int expected)
    {
        Assert.True(result.ExitCode == expected, $"expected exit code {expected}, got {result.ExitCode}\n{result}");
    }

    public static TempusReport Success(TempusQuery query)
    {
        Exit(query.Command, TempusCtlExit.Ok);
        return query.Report;
    }

    public static TempusReport Authenticated(TempusQuery query, int keyId, string keyType)
    {
        TempusReport report = Success(query);
        string context = $"\n{query.Command}";
        Assert.True(report.Authentication == "symmetric-key", $"authentication is \"{report.Authentication}\", expected \"symmetric-key\"{context}");
        Assert.True(report.KeyId == keyId, $"keyId is {report.KeyId?.ToString() ?? "null"}, expected {keyId}{context}");
        Assert.True(report.KeyType == keyType, $"keyType is \"{report.KeyType}\", expected \"{keyType}\"{context}");
        return report;
    }

    // A timeout (exit 3) is what a wrong key gets from chronyd and NTPsec: they drop the request. The
    // message must name the server (STYLE.md rule 19) and no result may be printed.
    public static void TimedOut(TempusQuery query, string host)
    {
        Exit(query.Command, TempusCtlExit.Timeout);
        Assert.True(query.Command.Stderr.Contains(host, StringComparison.Ordinal), $"exit code 3 but stderr does not name {host}\n{query.Command}");
        Assert.True(query.Command.Stdout.Trim().Length == 0, $"a failed query printed a result\n{query.Command}");
    }

    public static void SaneTiming(TempusReport report, TempusQuery query)
    {
        // Loopback to a daemon that reads this machine's clock: both are far below half a second.
        Assert.True(report.Delay is >= 0 and < 0.5, $"delay {report.Delay} s is not a loopback delay\n{query.Command}");
        Assert.True(Math.Abs(report.Offset) < 0.5, $"offset {report.Offset} s against a server on the same clock\n{query.Command}");
    }
}
