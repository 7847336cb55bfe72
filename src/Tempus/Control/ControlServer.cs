using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Tempus.Control;

/// <summary>Where and how <see cref="ControlServer"/> listens.</summary>
public sealed record ControlServerOptions
{
    /// <summary>Path of the Unix socket (<c>bindcmdaddress</c>).</summary>
    public string SocketPath { get; init; } = ControlProtocol.DefaultSocketPath;

    /// <summary>
    /// Name of the group whose members may use the monitoring commands: the socket's directory is created 0750
    /// with this group and the socket is made 0660 with this group. Null: directory 0700, socket 0600 (root, or the
    /// daemon's user, only).
    /// </summary>
    public string? Group { get; init; }

    /// <summary>Clients served at the same time; further connections wait in the listen backlog.</summary>
    public int MaxConnections { get; init; } = 16;

    /// <summary>Time a client has to send a whole request, and the daemon to answer it; an idle connection is closed after it.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The uid allowed changing commands besides root; null for the process's effective uid.</summary>
    public uint? DaemonUid { get; init; }
}

/// <summary>Why the control socket could not be opened; the message names the path and what to do.</summary>
public sealed class ControlServerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Which path and what to do.</param>
    public ControlServerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">Which path and what to do.</param>
    /// <param name="inner">The cause.</param>
    public ControlServerException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ControlServerException()
    {
    }
}

/// <summary>
/// tempusd's control socket: a Unix stream socket speaking <see cref="ControlProtocol"/>, serving many clients in
/// parallel (at most <see cref="ControlServerOptions.MaxConnections"/>). Monitoring commands are open to anyone who can
/// connect; changing commands only to root and the daemon's uid (<c>SO_PEERCRED</c>). A client that sends garbage gets
/// an error response or a closed connection, never a failing server.
/// </summary>
public sealed partial class ControlServer : IAsyncDisposable
{
    private readonly ControlServerOptions _options;
    private readonly ILogger _logger;
    private readonly ControlDispatcher _dispatcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots;
    private readonly HashSet<Task> _connections = [];
    private Socket? _listener;
    private Task? _acceptLoop;
    private long _received;
    private long _dropped;
    private int _stopped;

    /// <summary>Creates the server; nothing is bound until <see cref="Start"/>.</summary>
    /// <param name="handler">The daemon's implementation of the commands.</param>
    /// <param name="options">Path, group, limits.</param>
    /// <param name="logger">Where connection problems and changing commands are logged.</param>
    public ControlServer(IControlHandler handler, ControlServerOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConnections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero);
        _options = options;
        _logger = logger;
        _slots = new SemaphoreSlim(options.MaxConnections, options.MaxConnections);
        _dispatcher = new ControlDispatcher(handler, options.DaemonUid ?? Interop.Libc.GetEffectiveUserId(), options.RequestTimeout, logger, () => (CommandPacketsReceived, CommandPacketsDropped));
    }

    /// <summary>The socket's path.</summary>
    public string SocketPath => _options.SocketPath;

    /// <summary>Requests received (serverstats' "Command packets received").</summary>
    public long CommandPacketsReceived => Interlocked.Read(ref _received);

    /// <summary>Requests dropped as malformed, oversize, truncated, of another version or unknown.</summary>
    public long CommandPacketsDropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Creates the socket's directory if needed, removes a stale socket file, binds, sets the socket's mode and
    /// group, and starts accepting. Throws <see cref="ControlServerException"/> when another daemon listens on the
    /// path or the path cannot be used.
    /// </summary>
    public void Start()
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("the control server is already started");
        }

        string path = _options.SocketPath;
        uint? gid = _options.Group is string group
            ? UnixGroups.TryGetGroupId(group, out uint g) ? g : throw new ControlServerException($"control socket group '{group}' does not exist in /etc/group: create it (groupadd {group}) or set no group")
            : null;
        PrepareDirectory(path, gid);
        RemoveStaleSocket(path);

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));

            // The directory's mode protects the socket between bind and chmod (umask may leave it wider for a moment).
            File.SetUnixFileMode(path, gid is null
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            if (gid is uint socketGid && Interop.Libc.SetGroup(path, socketGid) is int errno and not 0)
            {
                throw new ControlServerException($"cannot give control socket {path} to group '{_options.Group}': errno {errno.ToString(CultureInfo.InvariantCulture)} (tempusd must run as root or be a member of that group)");
            }

            // Connections beyond MaxConnections wait here; a Unix socket refuses connect with EAGAIN once the backlog is full.
            listener.Listen(Math.Max(128, _options.MaxConnections));
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new ControlServerException($"cannot bind control socket {path}: {e.Message} (is the directory writable by tempusd's user?)", e);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        LogListening(_logger, path);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Stops accepting, closes every connection, waits for them, and removes the socket file.</summary>
    /// <param name="cancellationToken">Stops waiting for connections to finish.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        Task[] pending;
        lock (_connections)
        {
            pending = [.. _connections];
        }

        try
        {
            await Task.WhenAll(_acceptLoop is null ? pending : [.. pending, _acceptLoop]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (_listener is not null)
            {
                TryDelete(_options.SocketPath);
            }
        }
    }

    /// <summary>Same as <see cref="StopAsync"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
        _slots.Dispose();
    }

    private void PrepareDirectory(string path, uint? gid)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (string.IsNullOrEmpty(dir) || Directory.Exists(dir))
        {
            if (dir is not null && (File.GetUnixFileMode(dir) & (UnixFileMode.OtherWrite)) != 0 && (File.GetUnixFileMode(dir) & UnixFileMode.StickyBit) == 0)
            {
                throw new ControlServerException($"control socket directory {dir} is writable by everyone: anyone could replace the socket; use a directory only tempusd can write (chmod o-w {dir})");
            }

            return;
        }

        try
        {
            Directory.CreateDirectory(dir, gid is null
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ControlServerException($"cannot create control socket directory {dir}: {e.Message}", e);
        }

        if (gid is uint g && Interop.Libc.SetGroup(dir, g) is int errno and not 0)
        {
            throw new ControlServerException($"cannot give control socket directory {dir} to group '{_options.Group}': errno {errno.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    private static void RemoveStaleSocket(string path)
    {
        int errno = Interop.Libc.GetOwnership(path, out _, out _, out int mode);
        if (errno == 2)
        {
            return; // ENOENT: nothing there.
        }

        if (errno != 0)
        {
            throw new ControlServerException($"cannot inspect control socket path {path}: errno {errno.ToString(CultureInfo.InvariantCulture)}");
        }

        if ((mode & Interop.Libc.S_IFMT) != Interop.Libc.S_IFSOCK)
        {
            throw new ControlServerException($"control socket path {path} exists and is not a socket: refusing to replace it; remove it or choose another bindcmdaddress");
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // Nothing listens: a previous tempusd died without removing it.
            TryDelete(path);
            return;
        }
        catch (SocketException e)
        {
            throw new ControlServerException($"cannot check whether another daemon listens on {path}: {e.Message}", e);
        }

        throw new ControlServerException($"another daemon is already listening on control socket {path}: stop it first, or give this one another bindcmdaddress");
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The next start removes a stale socket anyway.
        }
    }

    private async Task AcceptLoopAsync()
    {
        CancellationToken stop = _stop.Token;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Socket client;
            try
            {
                client = await _listener!.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                _slots.Release();
                return;
            }
            catch (SocketException e)
            {
                // EMFILE and the like: wait for a connection to finish rather than spin.
                _slots.Release();
                LogAcceptFailed(_logger, e.SocketErrorCode);
                await Task.Delay(100, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            Task connection = ServeAsync(client, stop);
            lock (_connections)
            {
                _connections.Add(connection);
            }

            _ = connection.ContinueWith(
                t =>
                {
                    lock (_connections)
                    {
                        _connections.Remove(t);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stop)
    {
        try
        {
            await Task.Yield();
            await ServeConnectionAsync(client, stop).ConfigureAwait(false);
        }
        finally
        {
            // Released inside the task StopAsync awaits, so no release can run after DisposeAsync.
            _slots.Release();
        }
    }

    private async Task ServeConnectionAsync(Socket client, CancellationToken stop)
    {
        using var stream = new NetworkStream(client, ownsSocket: true);
        PeerCredentials peer;
        try
        {
            peer = PeerCredentials.Read(client);
        }
        catch (SocketException e)
        {
            LogConnectionError(_logger, e.Message);
            return;
        }

        try
        {
            while (true)
            {
                byte[]? payload;
                using (var read = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    read.CancelAfter(_options.RequestTimeout);
                    try
                    {
                        payload = await ControlFraming.ReadFrameAsync(stream, ControlProtocol.MaxMessageLength, read.Token).ConfigureAwait(false);
                    }
                    catch (ControlProtocolException e)
                    {
                        Interlocked.Increment(ref _received);
                        Interlocked.Increment(ref _dropped);
                        LogBadFrame(_logger, peer.UserId, peer.ProcessId, e.Message);
                        if (e.Code == ControlErrorCodes.TooLarge)
                        {
                            await WriteAsync(stream, ControlResponse.Failure(e.Code, e.Message), stop).ConfigureAwait(false);
                        }

                        return; // The frame boundary is lost: close this connection only.
                    }
                    catch (OperationCanceledException)
                    {
                        return; // Idle past the timeout, a request sent too slowly, or the server stopping.
                    }
                }

                if (payload is null)
                {
                    return;
                }

                Interlocked.Increment(ref _received);
                ControlResponse response;
                bool dropped;
                using (var run = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    run.CancelAfter(_options.RequestTimeout);
                    (response, dropped) = await _dispatcher.HandleAsync(payload, peer, run.Token).ConfigureAwait(false);
                }

                if (dropped)
                {
                    Interlocked.Increment(ref _dropped);
                }

                await WriteAsync(stream, response, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            LogConnectionError(_logger, e.Message);
        }
    }

    private async Task WriteAsync(Stream stream, ControlResponse response, CancellationToken stop)
    {
        using var write = CancellationTokenSource.CreateLinkedTokenSource(stop);
        write.CancelAfter(_options.RequestTimeout);
        byte[] json = ControlFraming.Serialize(response);
        if (json.Length > ControlProtocol.MaxMessageLength)
        {
            json = ControlFraming.Serialize(ControlResponse.Failure(ControlErrorCodes.TooLarge, $"the response of {json.Length} bytes exceeds the {ControlProtocol.MaxMessageLength}-byte limit of the control protocol"));
        }

        await ControlFraming.WriteFrameAsync(stream, json, write.Token).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Control socket listening on {Path}")]
    private static partial void LogListening(ILogger logger, string path);

    [LoggerMessage(EventId = 701, Level = LogLevel.Debug, Message = "Control connection from uid {Uid} (pid {Pid}) closed: {Reason}")]
    private static partial void LogBadFrame(ILogger logger, uint uid, int pid, string reason);

    [LoggerMessage(EventId = 702, Level = LogLevel.Debug, Message = "Control connection error: {Reason}")]
    private static partial void LogConnectionError(ILogger logger, string reason);

    [LoggerMessage(EventId = 706, Level = LogLevel.Warning, Message = "Control socket accept failed: {Error}")]
    private static partial void LogAcceptFailed(ILogger logger, SocketError error);
}
