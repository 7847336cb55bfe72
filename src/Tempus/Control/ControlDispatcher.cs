using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Tempus.Control;

/// <summary>
/// One request in, one response out: version check, authorization, dispatch to the <see cref="IControlHandler"/>.
/// No socket here, so tests drive it with bytes; <see cref="ControlServer"/> is only its transport.
/// </summary>
internal sealed partial class ControlDispatcher
{
    private readonly IControlHandler _handler;
    private readonly uint _daemonUid;
    private readonly ILogger _logger;
    private readonly Func<(long Received, long Dropped)> _commandCounters;
    private readonly TimeSpan _timeout;

    public ControlDispatcher(IControlHandler handler, uint daemonUid, TimeSpan timeout, ILogger logger, Func<(long Received, long Dropped)> commandCounters)
    {
        _handler = handler;
        _daemonUid = daemonUid;
        _timeout = timeout;
        _logger = logger;
        _commandCounters = commandCounters;
    }

    /// <summary>The response to one frame's payload, and whether the request counts as a dropped command packet.</summary>
    public async Task<(ControlResponse Response, bool Dropped)> HandleAsync(ReadOnlyMemory<byte> payload, PeerCredentials peer, CancellationToken cancellationToken)
    {
        ControlRequest request;
        try
        {
            request = ControlFraming.ParseRequest(payload.Span);
        }
        catch (ControlProtocolException e)
        {
            return (ControlResponse.Failure(ControlErrorCodes.Invalid, e.Message), true);
        }

        if (request.Version != ControlProtocol.Version)
        {
            string supported = string.Join(", ", ControlProtocol.SupportedVersions);
            string message = request.Version == 0
                ? $"control request has no \"version\": this tempusd speaks control protocol version {supported}"
                : $"control protocol version {request.Version.ToString(CultureInfo.InvariantCulture)} is not supported: this tempusd speaks version {supported}; use the tempusctl of the same release";
            return (ControlResponse.Failure(ControlErrorCodes.BadVersion, message) with { SupportedVersions = ControlProtocol.SupportedVersions }, true);
        }

        string command = request.Command ?? "";
        if (!ControlProtocol.IsKnown(command))
        {
            return (ControlResponse.Failure(ControlErrorCodes.Invalid, $"unknown control command '{Printable(command)}'"), true);
        }

        string what = command == ControlCommands.Clients && request.Args?.Reset == true ? "clients -r" : command;
        if (!ControlAuthorization.IsAllowed(command, request.Args, peer.UserId, _daemonUid))
        {
            LogNotAuthorised(_logger, what, peer.UserId, peer.ProcessId);
            return (ControlResponse.Failure(
                ControlErrorCodes.NotAuthorised,
                $"'{what}' changes the daemon's state: only root or the daemon's user (uid {_daemonUid.ToString(CultureInfo.InvariantCulture)}) may run it, not uid {peer.UserId.ToString(CultureInfo.InvariantCulture)}"), false);
        }

        try
        {
            JsonElement data = await RunAsync(command, request.Args ?? new ControlRequestArgs(), cancellationToken).ConfigureAwait(false);
            if (ControlProtocol.IsPrivileged(command, request.Args))
            {
                LogCommandRun(_logger, what, peer.UserId, peer.ProcessId);
            }

            return (new ControlResponse { Data = data }, false);
        }
        catch (ControlCommandException e)
        {
            return (ControlResponse.Failure(e.Code, e.Message), false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (ControlResponse.Failure(ControlErrorCodes.Timeout, $"tempusd did not complete '{command}' within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s"), false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One failing command must not take the control socket (or the daemon) down: report it and go on.
            LogHandlerFailed(_logger, command, e);
            return (ControlResponse.Failure(ControlErrorCodes.Failed, $"'{command}' failed inside tempusd: {e.Message}"), false);
        }
    }

    private async Task<JsonElement> RunAsync(string command, ControlRequestArgs args, CancellationToken cancellationToken)
    {
        ControlJsonContext json = ControlJsonContext.Default;
        switch (command)
        {
            case ControlCommands.Tracking:
                return JsonSerializer.SerializeToElement(await _handler.GetTrackingAsync(cancellationToken).ConfigureAwait(false), json.TrackingReport);
            case ControlCommands.Sources:
                return JsonSerializer.SerializeToElement([.. await _handler.GetSourcesAsync(cancellationToken).ConfigureAwait(false)], json.SourceReportArray);
            case ControlCommands.Activity:
                return JsonSerializer.SerializeToElement(await _handler.GetActivityAsync(cancellationToken).ConfigureAwait(false), json.ActivityReport);
            case ControlCommands.ServerStats:
                ServerStatsReport stats = await _handler.GetServerStatsAsync(cancellationToken).ConfigureAwait(false);
                (long received, long dropped) = _commandCounters();
                return JsonSerializer.SerializeToElement(stats with { CommandPacketsReceived = received, CommandPacketsDropped = dropped }, json.ServerStatsReport);
            case ControlCommands.Clients:
                if (args.MinPackets < 0)
                {
                    throw new ControlCommandException(ControlErrorCodes.Invalid, $"clients: minPackets {args.MinPackets.ToString(CultureInfo.InvariantCulture)} is negative");
                }

                var query = new ClientQuery(args.NtsKe, Math.Max(1, args.MinPackets), args.Reset);
                return JsonSerializer.SerializeToElement([.. await _handler.GetClientsAsync(query, cancellationToken).ConfigureAwait(false)], json.ClientReportArray);
            case ControlCommands.MakeStep:
                await _handler.MakeStepAsync(cancellationToken).ConfigureAwait(false);
                return Action(0);
            case ControlCommands.Rekey:
                return Action(await _handler.RekeyAsync(cancellationToken).ConfigureAwait(false));
            case ControlCommands.ReloadSources:
                return Action(await _handler.ReloadSourcesAsync(cancellationToken).ConfigureAwait(false));
            case ControlCommands.Dump:
                await _handler.DumpAsync(cancellationToken).ConfigureAwait(false);
                return Action(0);
            case ControlCommands.Online:
            case ControlCommands.Offline:
                string? address = string.IsNullOrWhiteSpace(args.Address) ? null : args.Address.Trim();
                return Action(await _handler.SetOnlineAsync(address, command == ControlCommands.Online, cancellationToken).ConfigureAwait(false));
            default:
                throw new ControlCommandException(ControlErrorCodes.Invalid, $"unknown control command '{Printable(command)}'");
        }
    }

    private static JsonElement Action(int sources) =>
        JsonSerializer.SerializeToElement(new ControlActionResult(sources), ControlJsonContext.Default.ControlActionResult);

    // A command name comes from the peer: show at most 32 printable ASCII characters of it.
    private static string Printable(string s)
    {
        var chars = s.Take(32).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray();
        return new string(chars) + (s.Length > 32 ? "..." : "");
    }

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "Control command '{Command}' refused for uid {Uid} (pid {Pid}): only root or the daemon's user may run it")]
    private static partial void LogNotAuthorised(ILogger logger, string command, uint uid, int pid);

    [LoggerMessage(EventId = 704, Level = LogLevel.Information, Message = "Control command '{Command}' run by uid {Uid} (pid {Pid})")]
    private static partial void LogCommandRun(ILogger logger, string command, uint uid, int pid);

    [LoggerMessage(EventId = 705, Level = LogLevel.Error, Message = "Control command '{Command}' failed in the handler")]
    private static partial void LogHandlerFailed(ILogger logger, string command, Exception exception);
}
