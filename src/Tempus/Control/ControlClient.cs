using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Tempus.Control;

/// <summary>Why a control request failed, for tempusctl's exit code.</summary>
public enum ControlClientError
{
    /// <summary>The socket file does not exist: tempusd is not running, or uses another path.</summary>
    SocketNotFound,

    /// <summary>The socket file exists but nothing listens on it.</summary>
    ConnectionRefused,

    /// <summary>The socket or its directory may not be opened by this user.</summary>
    PermissionDenied,

    /// <summary>No response within the timeout.</summary>
    Timeout,

    /// <summary>The daemon speaks another protocol version.</summary>
    ProtocolMismatch,

    /// <summary>The response was not a valid control message.</summary>
    InvalidResponse,

    /// <summary>The daemon refused the command: only root or the daemon's user may run it.</summary>
    NotAuthorised,

    /// <summary>The daemon ran the command and it failed (see <see cref="ControlClientException.Code"/>).</summary>
    CommandFailed,
}

/// <summary>A control request that failed; the message names the cause and the next step.</summary>
public sealed class ControlClientException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">The kind of failure.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="code">For a daemon error: its <see cref="ControlErrorCodes"/> value.</param>
    /// <param name="inner">The cause, if any.</param>
    public ControlClientException(ControlClientError error, string message, string? code = null, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        Code = code;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    public ControlClientException(string message)
        : this(ControlClientError.CommandFailed, message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="inner">The cause.</param>
    public ControlClientException(string message, Exception inner)
        : this(ControlClientError.CommandFailed, message, null, inner)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ControlClientException()
        : this(ControlClientError.CommandFailed, "control request failed")
    {
    }

    /// <summary>The kind of failure.</summary>
    public ControlClientError Error { get; }

    /// <summary>For a daemon error response: its code (<see cref="ControlErrorCodes"/>).</summary>
    public string? Code { get; }
}

/// <summary>
/// Talks to tempusd over its control socket: one connection per request, a typed method per command. Every failure
/// is a <see cref="ControlClientException"/> whose message says what to do.
/// </summary>
public sealed class ControlClient
{
    private readonly string _path;
    private readonly TimeSpan _timeout;

    /// <summary>Creates a client; nothing is opened until a request.</summary>
    /// <param name="socketPath">The daemon's socket (default <see cref="ControlProtocol.DefaultSocketPath"/>).</param>
    /// <param name="timeout">Time allowed for connecting, sending and receiving one request; default 15 s.</param>
    public ControlClient(string socketPath, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        _path = socketPath;
        _timeout = timeout ?? TimeSpan.FromSeconds(15);
    }

    /// <summary>The daemon's socket.</summary>
    public string SocketPath => _path;

    /// <summary><c>tracking</c>.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<TrackingReport> GetTrackingAsync(CancellationToken cancellationToken = default) =>
        RequestAsync(ControlCommands.Tracking, null, ControlJsonContext.Default.TrackingReport, cancellationToken);

    /// <summary><c>sources</c> (and the other per-source views).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<IReadOnlyList<SourceReport>> GetSourcesAsync(CancellationToken cancellationToken = default) =>
        await RequestAsync(ControlCommands.Sources, null, ControlJsonContext.Default.SourceReportArray, cancellationToken).ConfigureAwait(false);

    /// <summary><c>activity</c>.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ActivityReport> GetActivityAsync(CancellationToken cancellationToken = default) =>
        RequestAsync(ControlCommands.Activity, null, ControlJsonContext.Default.ActivityReport, cancellationToken);

    /// <summary><c>serverstats</c>.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ServerStatsReport> GetServerStatsAsync(CancellationToken cancellationToken = default) =>
        RequestAsync(ControlCommands.ServerStats, null, ControlJsonContext.Default.ServerStatsReport, cancellationToken);

    /// <summary><c>clients</c> / <c>clients -k</c>.</summary>
    /// <param name="ntsKe">Whether the NTS-KE columns are wanted.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<IReadOnlyList<ClientReport>> GetClientsAsync(bool ntsKe, CancellationToken cancellationToken = default) =>
        await GetClientsAsync(new ClientQuery(ntsKe), cancellationToken).ConfigureAwait(false);

    /// <summary><c>clients [-k] [-p N] [-r]</c>; resetting needs root or the daemon's user.</summary>
    /// <param name="query">Which side, which clients, and whether to zero their counters.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<IReadOnlyList<ClientReport>> GetClientsAsync(ClientQuery query, CancellationToken cancellationToken = default) =>
        await RequestAsync(
            ControlCommands.Clients,
            new ControlRequestArgs { NtsKe = query.NtsKe, MinPackets = query.MinPackets, Reset = query.Reset },
            ControlJsonContext.Default.ClientReportArray,
            cancellationToken).ConfigureAwait(false);

    /// <summary><c>makestep</c>.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ControlActionResult> MakeStepAsync(CancellationToken cancellationToken = default) => ActionAsync(ControlCommands.MakeStep, null, cancellationToken);

    /// <summary><c>rekey</c>; the result counts the NTS sources that will re-key.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ControlActionResult> RekeyAsync(CancellationToken cancellationToken = default) => ActionAsync(ControlCommands.Rekey, null, cancellationToken);

    /// <summary><c>reload sources</c>; the result counts the sources that changed.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ControlActionResult> ReloadSourcesAsync(CancellationToken cancellationToken = default) => ActionAsync(ControlCommands.ReloadSources, null, cancellationToken);

    /// <summary><c>dump</c>.</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ControlActionResult> DumpAsync(CancellationToken cancellationToken = default) => ActionAsync(ControlCommands.Dump, null, cancellationToken);

    /// <summary><c>online [ADDRESS]</c> / <c>offline [ADDRESS]</c>; the result counts the sources switched.</summary>
    /// <param name="addressOrName">A source's address or name; null for every source.</param>
    /// <param name="online">True for online.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<ControlActionResult> SetOnlineAsync(string? addressOrName, bool online, CancellationToken cancellationToken = default) =>
        ActionAsync(online ? ControlCommands.Online : ControlCommands.Offline, new ControlRequestArgs { Address = addressOrName }, cancellationToken);

    private Task<ControlActionResult> ActionAsync(string command, ControlRequestArgs? args, CancellationToken cancellationToken) =>
        RequestAsync(command, args, ControlJsonContext.Default.ControlActionResult, cancellationToken);

    private async Task<T> RequestAsync<T>(string command, ControlRequestArgs? args, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        ControlResponse response = await SendAsync(new ControlRequest { Version = ControlProtocol.Version, Command = command, Args = args }, cancellationToken).ConfigureAwait(false);
        if (!response.IsOk)
        {
            string message = response.Error ?? $"tempusd answered '{command}' with an error and no message";
            throw response.Code switch
            {
                ControlErrorCodes.BadVersion => new ControlClientException(ControlClientError.ProtocolMismatch, message, response.Code),
                ControlErrorCodes.NotAuthorised => new ControlClientException(ControlClientError.NotAuthorised, $"{message}: run tempusctl as root (sudo)", response.Code),
                _ => new ControlClientException(ControlClientError.CommandFailed, message, response.Code),
            };
        }

        if (response.Data is not JsonElement data)
        {
            throw new ControlClientException(ControlClientError.InvalidResponse, $"tempusd answered '{command}' with no data");
        }

        try
        {
            return data.Deserialize(type) ?? throw new ControlClientException(ControlClientError.InvalidResponse, $"tempusd answered '{command}' with null data");
        }
        catch (JsonException e)
        {
            throw new ControlClientException(ControlClientError.InvalidResponse, $"tempusd's answer to '{command}' does not match this tempusctl: {e.Message}", null, e);
        }
    }

    /// <summary>Sends one request and returns the daemon's response as is (status not checked, version checked).</summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<ControlResponse> SendAsync(ControlRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using Socket socket = await ConnectAsync(timeout.Token).ConfigureAwait(false);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await ControlFraming.WriteFrameAsync(stream, ControlFraming.Serialize(request), timeout.Token).ConfigureAwait(false);
            byte[] payload = await ControlFraming.ReadFrameAsync(stream, ControlProtocol.MaxMessageLength, timeout.Token).ConfigureAwait(false)
                ?? throw new ControlClientException(ControlClientError.InvalidResponse, $"tempusd closed the control connection on {_path} without answering '{request.Command}'");
            ControlResponse response = ControlFraming.ParseResponse(payload);
            if (response.Version != ControlProtocol.Version)
            {
                throw new ControlClientException(
                    ControlClientError.ProtocolMismatch,
                    $"tempusd on {_path} speaks control protocol version {response.Version.ToString(CultureInfo.InvariantCulture)}, this tempusctl version {ControlProtocol.Version.ToString(CultureInfo.InvariantCulture)}: use the tempusctl of the same release as tempusd");
            }

            return response;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ControlClientException(ControlClientError.Timeout, $"tempusd did not answer '{request.Command}' on {_path} within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: is it stuck? (journalctl -u tempusd)");
        }
        catch (ControlProtocolException e)
        {
            throw new ControlClientException(ControlClientError.InvalidResponse, $"invalid answer from {_path}: {e.Message}", null, e);
        }
        catch (SocketException e)
        {
            throw ConnectError(e);
        }
        catch (IOException e) when (e.InnerException is SocketException s)
        {
            throw ConnectError(s);
        }
    }

    // A Unix stream socket whose listen backlog is full fails connect with EAGAIN instead of queueing the caller:
    // retry (the daemon is busy, not gone) until the request timeout.
    private async Task<Socket> ConnectAsync(CancellationToken cancellationToken)
    {
        var endpoint = new UnixDomainSocketEndPoint(_path);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.TryAgain)
            {
                socket.Dispose();
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    private ControlClientException ConnectError(SocketException e) => e.SocketErrorCode switch
    {
        _ when !Exists(_path) =>
            new(ControlClientError.SocketNotFound, $"is tempusd running? socket {_path} not found (give another path with --socket)", null, e),
        SocketError.ConnectionRefused =>
            new(ControlClientError.ConnectionRefused, $"is tempusd running? nothing listens on socket {_path} (a stale socket file from a daemon that exited)", null, e),
        SocketError.AccessDenied =>
            new(ControlClientError.PermissionDenied, PermissionMessage(_path), null, e),
        _ => new(ControlClientError.ConnectionRefused, $"cannot connect to tempusd on {_path}: {e.Message}", null, e),
    };

    private static bool Exists(string path) => Interop.Libc.GetOwnership(path, out _, out _, out _) != 2;

    private static string PermissionMessage(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        if (Interop.Libc.GetOwnership(path, out _, out uint gid, out int mode) == 0 && (mode & 0x30) == 0x30)
        {
            return $"permission denied on socket {path}: run as root or a member of group {UnixGroups.TryGetGroupName(gid) ?? gid.ToString(CultureInfo.InvariantCulture)}";
        }

        if (dir is not null && Interop.Libc.GetOwnership(dir, out _, out uint dirGid, out int dirMode) == 0 && (dirMode & 0x8) != 0)
        {
            return $"permission denied on socket {path}: run as root or a member of group {UnixGroups.TryGetGroupName(dirGid) ?? dirGid.ToString(CultureInfo.InvariantCulture)}";
        }

        return $"permission denied on socket {path}: run as root (tempusd opens its socket to no group; set a control group in its configuration to allow others)";
    }
}
