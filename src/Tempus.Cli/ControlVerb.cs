using System.CommandLine;
using System.Text.Json;
using Tempus.Control;

namespace Tempus.Cli;

/// <summary>
/// What the control verbs share: the global <c>--socket</c>, the <c>--json</c> and <c>-c</c> options, and the
/// mapping of failures to exit codes and chronyc's status lines.
/// </summary>
internal static class ControlVerb
{
    public const string ExitCodeHelp =
        "\nExit codes: 0 ok; 1 the daemon reported a failure; 2 usage; 3 no answer in time; 4 tempusd not reachable; 8 another protocol version or a bad reply; 11 not permitted (socket permissions, or not root/tempusd's user).";

    /// <summary>The global <c>--socket PATH</c> (recursive: valid before or after the verb).</summary>
    public static Option<string> Socket { get; } = new("--socket")
    {
        Description = "tempusd's control socket",
        DefaultValueFactory = _ => ControlProtocol.DefaultSocketPath,
        Recursive = true,
        HelpName = "PATH",
    };

    /// <summary>chronyc's <c>-c</c> before the verb (<c>tempusctl -c tracking</c>); the verbs also take it after.</summary>
    public static Option<bool> GlobalCsv { get; } = new("-c") { Description = "print comma-separated values like 'chronyc -c' (before a monitoring verb)" };

    /// <summary>chronyc's <c>-n</c> before the verb: sources by IP address instead of by name.</summary>
    public static Option<bool> GlobalNumeric { get; } = new("-n") { Description = "show sources by IP address instead of by host name (like chronyc -n; before the verb)" };

    public static Option<bool> Json() => new("--json") { Description = "print the daemon's report as JSON (Tempus's signs: offset = reference - local)" };

    public static Option<bool> Csv() => new("--csv", "-c") { Description = "print comma-separated values like 'chronyc -c'" };

    public static Option<bool> Verbose() => new("-v") { Description = "print a legend (and Tempus's reasons) around the table" };

    public static ControlClient Client(ParseResult parse) => new(parse.GetValue(Socket)!);

    /// <summary>Whether CSV output was asked for, before the verb or after it.</summary>
    public static bool IsCsv(ParseResult parse, Option<bool> verbCsv) => parse.GetValue(GlobalCsv) || parse.GetValue(verbCsv);

    /// <summary>Runs a view: prints its text or JSON on success, the failure on stderr (and chronyc's status line on stdout).</summary>
    public static async Task<int> RunAsync(Func<CancellationToken, Task<string>> view, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        try
        {
            string text = await view(cancellationToken).ConfigureAwait(false);
            await stdout.WriteAsync(text).ConfigureAwait(false);
            return ExitCodes.Success;
        }
        catch (ControlClientException e)
        {
            return Fail(e, json, stdout, stderr);
        }
    }

    public static int Fail(ControlClientException e, bool json, TextWriter stdout, TextWriter stderr)
    {
        if (json)
        {
            stdout.Write(JsonErrorLine(e));
        }
        else
        {
            stdout.WriteLine(StatusLine(e));
        }

        stderr.WriteLine($"tempusctl: {e.Message}");
        return ExitCode(e);
    }

    public static int ExitCode(ControlClientException e) => e.Error switch
    {
        ControlClientError.SocketNotFound or ControlClientError.ConnectionRefused => ExitCodes.Unreachable,
        ControlClientError.Timeout => ExitCodes.Timeout,
        ControlClientError.PermissionDenied or ControlClientError.NotAuthorised => ExitCodes.NotPermitted,
        ControlClientError.ProtocolMismatch or ControlClientError.InvalidResponse => ExitCodes.InvalidResponse,
        _ => ExitCodes.Failure,
    };

    /// <summary>chronyc's reply status line for a failure (request_reply in client.c).</summary>
    public static string StatusLine(ControlClientException e) => e.Error switch
    {
        ControlClientError.SocketNotFound or ControlClientError.ConnectionRefused or ControlClientError.Timeout
            or ControlClientError.PermissionDenied => "506 Cannot talk to daemon",
        ControlClientError.ProtocolMismatch => "517 Protocol version mismatch",
        ControlClientError.InvalidResponse => "508 Bad reply from daemon",
        ControlClientError.NotAuthorised => "501 Not authorised",
        _ => e.Code switch
        {
            ControlErrorCodes.Invalid => "502 Invalid command",
            ControlErrorCodes.NoSuchSource => "503 No such source",
            _ => "500 Failure",
        },
    };

    private static string JsonErrorLine(ControlClientException e)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("status", "error");
            w.WriteString("code", e.Code ?? e.Error.ToString());
            w.WriteString("error", e.Message);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>A changing command: chronyc's "200 OK", or <c>{"status":"ok","sources":N}</c>.</summary>
    public static Task<int> RunActionAsync(Func<CancellationToken, Task<ControlActionResult>> action, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        RunAsync(
            async ct =>
            {
                ControlActionResult result = await action(ct).ConfigureAwait(false);
                return json ? $"{{\"status\":\"ok\",\"sources\":{result.Sources.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}\n" : "200 OK\n";
            },
            json,
            stdout,
            stderr,
            cancellationToken);
}
