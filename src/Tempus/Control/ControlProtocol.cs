namespace Tempus.Control;

/// <summary>
/// The control protocol between tempusctl and tempusd: over a Unix stream socket, each message is a 4-byte
/// big-endian length followed by that many bytes of UTF-8 JSON. A request is
/// <c>{"version":1,"command":"tracking","args":{...}}</c>, a response
/// <c>{"version":1,"status":"ok"|"error","code":"...","error":"...","data":...}</c>.
/// </summary>
public static class ControlProtocol
{
    /// <summary>The protocol version this build speaks.</summary>
    public const int Version = 1;

    /// <summary>Every version this build can answer; named in the error for any other.</summary>
    public static IReadOnlyList<int> SupportedVersions { get; } = [Version];

    /// <summary>Largest message accepted in either direction, bytes (1 MiB).</summary>
    public const int MaxMessageLength = 1 << 20;

    /// <summary>Size of the big-endian length prefix, bytes.</summary>
    public const int LengthPrefixSize = 4;

    /// <summary>Default path of the control socket.</summary>
    public const string DefaultSocketPath = "/run/tempus/tempusd.sock";

    /// <summary>Whether <paramref name="command"/> changes the daemon's state (allowed only to root and the daemon's user).</summary>
    public static bool IsPrivileged(string command) => command switch
    {
        ControlCommands.MakeStep or ControlCommands.Rekey or ControlCommands.ReloadSources
            or ControlCommands.Dump or ControlCommands.Online or ControlCommands.Offline => true,
        _ => false,
    };

    /// <summary>
    /// Whether this request changes the daemon's state: a changing command, or <c>clients</c> with
    /// <see cref="ControlRequestArgs.Reset"/> (it zeroes the client counters, as chronyc's <c>clients -r</c>).
    /// </summary>
    public static bool IsPrivileged(string command, ControlRequestArgs? args) =>
        IsPrivileged(command) || (command == ControlCommands.Clients && args?.Reset == true);

    /// <summary>Whether <paramref name="command"/> is one this protocol version defines.</summary>
    public static bool IsKnown(string command) => command switch
    {
        ControlCommands.Tracking or ControlCommands.Sources or ControlCommands.Activity or ControlCommands.ServerStats
            or ControlCommands.Clients => true,
        _ => IsPrivileged(command),
    };
}

/// <summary>The command names of the control protocol.</summary>
public static class ControlCommands
{
    /// <summary>Returns a <see cref="TrackingReport"/>.</summary>
    public const string Tracking = "tracking";

    /// <summary>Returns every <see cref="SourceReport"/>: sources, sourcestats, selectdata, authdata, ntpdata are views of it.</summary>
    public const string Sources = "sources";

    /// <summary>Returns an <see cref="ActivityReport"/>.</summary>
    public const string Activity = "activity";

    /// <summary>Returns a <see cref="ServerStatsReport"/>.</summary>
    public const string ServerStats = "serverstats";

    /// <summary>Returns every <see cref="ClientReport"/>; args <c>ntsKe</c>, <c>minPackets</c>, <c>reset</c> (privileged).</summary>
    public const string Clients = "clients";

    /// <summary>Step the clock by the remaining correction now (privileged).</summary>
    public const string MakeStep = "makestep";

    /// <summary>Run NTS-KE again for every NTS source (privileged).</summary>
    public const string Rekey = "rekey";

    /// <summary>Re-read the <c>sourcedir</c> files (privileged).</summary>
    public const string ReloadSources = "reload-sources";

    /// <summary>Save NTS cookies and the drift now (privileged).</summary>
    public const string Dump = "dump";

    /// <summary>Poll sources again; args <c>address</c>, null for all (privileged).</summary>
    public const string Online = "online";

    /// <summary>Stop polling sources; args <c>address</c>, null for all (privileged).</summary>
    public const string Offline = "offline";
}

/// <summary>The <c>code</c> of an error response: what a client tells its user, like chronyc's 5xx status lines.</summary>
public static class ControlErrorCodes
{
    /// <summary>The command ran and failed (chronyc's 500 Failure).</summary>
    public const string Failed = "failed";

    /// <summary>The peer may not run a changing command (chronyc's 501 Not authorised).</summary>
    public const string NotAuthorised = "not-authorised";

    /// <summary>Unknown command, bad arguments, or malformed JSON (chronyc's 502 Invalid command).</summary>
    public const string Invalid = "invalid";

    /// <summary>No source matches the address given (chronyc's 503 No such source).</summary>
    public const string NoSuchSource = "no-such-source";

    /// <summary>The request's protocol version is not one the daemon speaks (chronyc's 517).</summary>
    public const string BadVersion = "bad-version";

    /// <summary>The request was larger than <see cref="ControlProtocol.MaxMessageLength"/>.</summary>
    public const string TooLarge = "too-large";

    /// <summary>The handler did not finish within the request timeout.</summary>
    public const string Timeout = "timeout";
}
