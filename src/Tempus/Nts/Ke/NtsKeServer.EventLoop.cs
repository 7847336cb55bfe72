using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using Microsoft.Extensions.Logging;
using Tempus.Protocol;
using Tempus.Tls;
using static Interop.Libc;

namespace Tempus.Nts;

// The connections of the NTS-KE server run on a few event-loop threads, each with its own epoll set, as chronyd's
// NTS-KE helper does: a connection is driven inline where its socket becomes readable, from accept to close, with
// no task, stream or thread-pool hop per step (issue 5: a handshake used to cost 10 to 40 context switches, and
// bursts grew the thread pool). Every listener is in every loop's set with EPOLLEXCLUSIVE, so one loop wakes per
// incoming connection; the connection then belongs to that loop alone, and nothing in it is shared between threads
// but the counters, the slot count and the TLS context holder.
public sealed partial class NtsKeServer
{
    private const ulong ListenerTag = 1UL << 32;
    private const ulong WakeTag = 2UL << 32;
    private const int MaxLoopWaitMilliseconds = 1000;
    private const int AcceptBatch = 64;

    // Room for the largest TLS record (RFC 8446 §5.2) plus its header: one receive or send at a time, per loop.
    private const int LoopBufferSize = 16384 + 256 + 5;
    private const int InitialRequestBufferSize = 2048;
    private const int MaxSpareConnections = 64;

    private enum ConnectionState
    {
        Handshaking,
        ReadingRequest,
        Writing,
        Lingering,
        Closed,
    }

    // Closed connections are kept by their loop (up to MaxSpareConnections) and opened again for the next client.
    private sealed class Connection
    {
        private IPEndPoint? _remote;
        private string? _peer;

        public Connection(int fd, IPEndPoint? remote, TlsSession session, long handshakeDeadline)
        {
            // One node moves from queue to queue (a removed node can be added again), rather than one per phase.
            DeadlineNode = new LinkedListNode<Connection>(this);
            Open(fd, remote, session, handshakeDeadline);
        }

        public int Fd { get; private set; }

        // Formatted when a message first names the client: a connection that goes well is logged, if at all, at Debug.
        public string Peer => _peer ??= _remote?.ToString() ?? "(unknown)";

        public TlsSession Session { get; private set; }

        public ConnectionState State { get; set; }

        public long Deadline { get; set; }

        public LinkedListNode<Connection> DeadlineNode { get; }

        public NtsKeRequestParser Parser { get; private set; }

        public byte[]? Request { get; set; }

        public int RequestLength { get; set; }

        // Bytes the socket did not take at once (a full send buffer): sent when it says EPOLLOUT.
        public byte[]? Pending { get; set; }

        public int PendingOffset { get; set; }

        public int PendingLength { get; set; }

        public bool WantsWrite { get; set; }

        // What the response was, counted once it is out: -1 an Error record, otherwise the cookie count.
        public int ResponseCookies { get; set; }

        // Everything a previous client left is set anew (its buffers went back to the pool when it closed).
        [MemberNotNull(nameof(Session), nameof(Parser))]
        public void Open(int fd, IPEndPoint? remote, TlsSession session, long handshakeDeadline)
        {
            Fd = fd;
            _remote = remote;
            _peer = null;
            Session = session;
            State = ConnectionState.Handshaking;
            Deadline = handshakeDeadline;
            Parser = new NtsKeRequestParser();
            Request = null;
            RequestLength = 0;
            Pending = null;
            PendingOffset = 0;
            PendingLength = 0;
            WantsWrite = false;
            ResponseCookies = 0;
        }
    }

    private sealed class EventLoop : IDisposable
    {
        private readonly NtsKeServer _server;
        private readonly int _epoll;
        private readonly byte[] _events = new byte[64 * EpollEventSize];
        private readonly byte[] _buffer = new byte[LoopBufferSize];
        private readonly byte[] _address = new byte[SockAddrStorageSize];
        private readonly Dictionary<int, Connection> _connections = [];
        private readonly CookieBuffers _cookies = new();
        private readonly Stack<Connection> _spare = new();

        // Each phase has one timeout for every connection, so deadlines are added in order: a queue per phase.
        private readonly LinkedList<Connection> _handshakes = new();
        private readonly LinkedList<Connection> _requests = new();
        private readonly LinkedList<Connection> _lingering = new();
        private readonly IReadOnlyList<System.Net.Sockets.Socket> _listeners;
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _listenersPausedUntil;
        private long _allocatedBytes;

        public EventLoop(NtsKeServer server, IReadOnlyList<System.Net.Sockets.Socket> listeners, int wakeFd)
        {
            _server = server;
            _listeners = listeners;
            _epoll = EpollCreate();
            if (_epoll < 0)
            {
                throw new System.Net.Sockets.SocketException(-_epoll, $"epoll_create1 failed for the NTS-KE server: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-_epoll)}");
            }

            int error = EpollCtl(_epoll, EPOLL_CTL_ADD, wakeFd, EPOLLIN, WakeTag);
            for (int i = 0; i < listeners.Count && error == 0; i++)
            {
                error = AddListener(i);
            }

            if (error != 0)
            {
                Close(_epoll);
                throw new System.Net.Sockets.SocketException(-error, $"epoll_ctl failed for the NTS-KE server: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-error)}");
            }
        }

        public Task Completion => _done.Task;

        // What the loop's thread has allocated, as of the end of its last pass (tests: a handshake should cost little).
        public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

        public void Start(int index)
        {
            // A small stack: the loop does not recurse, and OpenSSL's handshake needs far less than this.
            var thread = new Thread(Run, 256 * 1024) { IsBackground = true, Name = $"NTS-KE loop {index}" };
            thread.Start();
        }

        public void Dispose() => Close(_epoll);

        private int AddListener(int index) =>
            EpollCtl(_epoll, EPOLL_CTL_ADD, (int)_listeners[index].SafeHandle.DangerousGetHandle(), EPOLLIN | EPOLLEXCLUSIVE, ListenerTag | (uint)index);

        private void Run()
        {
            try
            {
                while (Volatile.Read(ref _server._stopped) == 0)
                {
                    int count = EpollWait(_epoll, _events, WaitMilliseconds());
                    if (count < 0 && count != -EINTR)
                    {
                        string problem = $"epoll_wait: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-count)}";
                        LogLoopFailed(_server._logger, problem);
                        break;
                    }

                    for (int i = 0; i < count; i++)
                    {
                        (uint events, ulong data) = GetEpollEvent(_events, i);
                        if ((data & ListenerTag) != 0)
                        {
                            AcceptAll((int)(uint)data);
                        }
                        else if ((data & WakeTag) == 0 && _connections.TryGetValue((int)(uint)data, out Connection? connection))
                        {
                            Service(connection, events);
                        }
                    }

                    Expire(Environment.TickCount64);
                    Volatile.Write(ref _allocatedBytes, GC.GetAllocatedBytesForCurrentThread());
                }
            }
            catch (Exception ex)
            {
                // Never expected (every connection catches its own failures); logged so that it is not silent.
                string problem = ex.ToString();
                LogLoopFailed(_server._logger, problem);
            }
            finally
            {
                foreach (Connection connection in _connections.Values.ToArray())
                {
                    CloseConnection(connection);
                }

                _done.TrySetResult();
            }
        }

        private int WaitMilliseconds()
        {
            long now = Environment.TickCount64;
            long next = now + MaxLoopWaitMilliseconds;
            if (_handshakes.First is { } handshake)
            {
                next = Math.Min(next, handshake.Value.Deadline);
            }

            if (_requests.First is { } request)
            {
                next = Math.Min(next, request.Value.Deadline);
            }

            if (_lingering.First is { } lingering)
            {
                next = Math.Min(next, lingering.Value.Deadline);
            }

            if (_listenersPausedUntil != 0)
            {
                next = Math.Min(next, _listenersPausedUntil);
            }

            return (int)Math.Clamp(next - now, 0, MaxLoopWaitMilliseconds);
        }

        private void AcceptAll(int listenerIndex)
        {
            System.Net.Sockets.Socket listener = _listeners[listenerIndex];
            for (int n = 0; n < AcceptBatch; n++)
            {
                int fd = Accept(listener.SafeHandle, _address);
                if (fd < 0)
                {
                    switch (-fd)
                    {
                        case EAGAIN:
                            return;
                        case EINTR or ECONNABORTED:
                            continue;
                        case EMFILE or ENFILE or ENOBUFS or ENOMEM:
                            // About a passing shortage, never a reason to stop serving; stop asking for a moment so
                            // that a full descriptor table does not spin the loop.
                            string shortage = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-fd);
                            LogAcceptFailed(_server._logger, -fd, shortage);
                            PauseListeners();
                            return;
                        default:
                            string problem = System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-fd);
                            LogAcceptFailed(_server._logger, -fd, problem);
                            return;
                    }
                }

                Admit(fd);
            }
        }

        private void PauseListeners()
        {
            for (int i = 0; i < _listeners.Count; i++)
            {
                EpollCtl(_epoll, EPOLL_CTL_DEL, (int)_listeners[i].SafeHandle.DangerousGetHandle(), 0, 0);
            }

            _listenersPausedUntil = Environment.TickCount64 + 100;
        }

        private void Admit(int fd)
        {
            NtsKeServer server = _server;
            IPEndPoint? remote = ParseSockAddr(_address);
            if (server.Admission is { } admit && remote is not null && !admit(remote.Address))
            {
                LogConnectionRateLimited(server._logger, remote);
                Close(fd);
                return;
            }

            if (Interlocked.Increment(ref server._active) > server._options.MaxConnections)
            {
                server.ReleaseSlot();
                server.Counters.CountConnectionRejected();
                LogConnectionRejected(server._logger, remote, server._options.MaxConnections);
                Close(fd);
                return;
            }

            server.Counters.CountConnectionAccepted();
            TlsSession session;
            try
            {
                session = server.CreateSession(remote);
            }
            catch (Exception ex) when (ex is TlsException or ObjectDisposedException or Tempus.Native.OpenSslException)
            {
                server.Counters.CountConnectionError();
                string peer = remote?.ToString() ?? "(unknown)";
                LogConnectionFailed(server._logger, peer, ex.Message);
                Close(fd);
                server.ReleaseSlot();
                return;
            }

            long deadline = Environment.TickCount64 + (long)server._options.HandshakeTimeout.TotalMilliseconds;
            Connection connection;
            if (_spare.TryPop(out Connection? spare))
            {
                connection = spare;
                connection.Open(fd, remote, session, deadline);
            }
            else
            {
                connection = new Connection(fd, remote, session, deadline);
            }

            int error = EpollCtl(_epoll, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP, (uint)fd);
            if (error != 0)
            {
                server.Counters.CountConnectionError();
                string problem = $"epoll_ctl: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-error)}";
                LogConnectionFailed(server._logger, connection.Peer, problem);
                session.Dispose();
                Close(fd);
                server.ReleaseSlot();
                return;
            }

            _connections.Add(fd, connection);
            _handshakes.AddLast(connection.DeadlineNode);

            // The ClientHello is usually in by the time the connection is accepted: try now rather than after a wait.
            Service(connection, EPOLLIN);
        }

        private void Service(Connection connection, uint events)
        {
            try
            {
                // While output waits, nothing is read: the peer cannot go on before it has our bytes anyway.
                if (connection.PendingLength > 0 && ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0 || !FlushPending(connection)))
                {
                    return;
                }

                if (connection.State == ConnectionState.Closed)
                {
                    return;
                }

                if (connection.State == ConnectionState.Lingering)
                {
                    Linger(connection);
                    return;
                }

                if (connection.State == ConnectionState.Writing)
                {
                    // Everything is out (the flush above completed).
                    Finish(connection);
                    return;
                }

                if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) == 0)
                {
                    return;
                }

                nint received = Receive(connection.Fd, _buffer);
                if (received > 0)
                {
                    connection.Session.PushInput(_buffer.AsSpan(0, (int)received));
                }
                else if (received == 0)
                {
                    connection.Session.PushEndOfInput();
                }
                else if (received == -EAGAIN || received == -EINTR)
                {
                    return;
                }
                else
                {
                    Fail(connection, $"receive failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage((int)-received)}");
                    return;
                }

                Advance(connection);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // STYLE rule 17: whatever one connection does, it ends alone.
                Fail(connection, ex.Message);
            }
        }

        private void Advance(Connection connection)
        {
            NtsKeServer server = _server;
            if (connection.State == ConnectionState.Handshaking)
            {
                bool established;
                try
                {
                    established = connection.Session.StepHandshake();
                }
                catch (TlsHandshakeException ex)
                {
                    // Send the alert OpenSSL queued, so the peer learns why; the peer may already be gone.
                    SendOutput(connection, bestEffort: true);
                    server.Counters.CountHandshakeFailed();
                    LogHandshakeFailed(server._logger, connection.Peer, ex.Reason, ex.Message);
                    CloseConnection(connection);
                    return;
                }

                if (!SendOutput(connection, bestEffort: false) || !established)
                {
                    return;
                }

                server.Counters.CountHandshakeCompleted();
                _handshakes.Remove(connection.DeadlineNode);
                connection.Deadline = Environment.TickCount64 + (long)server._options.RequestTimeout.TotalMilliseconds;
                _requests.AddLast(connection.DeadlineNode);
                connection.State = ConnectionState.ReadingRequest;
                connection.Request = ArrayPool<byte>.Shared.Rent(InitialRequestBufferSize);
            }

            if (connection.State == ConnectionState.ReadingRequest)
            {
                ReadRequest(connection);
            }
        }

        // The synchronous twin of NtsKeStream.ReadMessageAsync: decrypt what has arrived, parse from the start of the
        // message each time, answer once End of Message is in.
        private void ReadRequest(Connection connection)
        {
            NtsKeServer server = _server;
            NtsKeResponse response;
            try
            {
                while (true)
                {
                    byte[] buffer = connection.Request!;
                    if (connection.RequestLength == buffer.Length)
                    {
                        // The parser throws before a message passes its limit, so the buffer never grows past about that.
                        int limit = NtsKeLimits.MaxRequestLength + NtsKeRecord.HeaderSize + NtsKeLimits.MaxRecordBodyLength;
                        if (buffer.Length >= limit)
                        {
                            throw new NtsKeProtocolException(NtsKeProtocolError.MessageTooLong, connection.RequestLength, $"the message is longer than {NtsKeLimits.MaxRequestLength} bytes without End of Message");
                        }

                        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, limit));
                        buffer.AsSpan(0, connection.RequestLength).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
                        connection.Request = buffer = larger;
                    }

                    Interop.Ssl.SslStatus status = connection.Session.TryReadPlaintext(buffer.AsSpan(connection.RequestLength), out int read);
                    if (status == Interop.Ssl.SslStatus.WantRead)
                    {
                        // Reading can make OpenSSL answer (a KeyUpdate): send that.
                        SendOutput(connection, bestEffort: false);
                        return;
                    }

                    connection.RequestLength += read;
                    bool final = status == Interop.Ssl.SslStatus.Closed;
                    var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(buffer, 0, connection.RequestLength));
                    NtsKeRequest? request;
                    try
                    {
                        if (!connection.Parser.TryParse(ref reader, final, out request))
                        {
                            if (final)
                            {
                                throw new NtsKeProtocolException(NtsKeProtocolError.IncompleteMessage, connection.RequestLength, "the client closed before End of Message");
                            }

                            continue;
                        }
                    }
                    catch (NtsKeProtocolException)
                    {
                        server.LogRequestBytes(connection.Peer, buffer.AsMemory(0, connection.RequestLength));
                        throw;
                    }

                    server.Counters.CountRequest();
                    response = server.Answer(connection, request, _cookies);
                    break;
                }
            }
            catch (NtsKeProtocolException ex)
            {
                // RFC 8915 §4.1.3: error 0 for an unknown critical record, 1 for anything else malformed or incomplete.
                LogRequestRejected(server._logger, connection.Peer, (ushort)ex.ErrorCode, ex.Message);
                response = NtsKeResponse.CreateError(ex.ErrorCode);
            }

            Respond(connection, response);
        }

        private void Respond(Connection connection, NtsKeResponse response)
        {
            int length = NtsKeMessageWriter.GetResponseLength(response);
            byte[] message = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                NtsKeMessageWriter.TryWriteResponse(message.AsSpan(0, length), response, out _);

                // RFC 8915 §4: close_notify after the response, in the same send.
                connection.Session.QueueWrite(message.AsSpan(0, length), shutdown: true);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(message, clearArray: true);
                _cookies.Wipe();
            }

            connection.ResponseCookies = response.IsError ? -1 : response.Cookies.Count;
            connection.State = ConnectionState.Writing;
            if (SendOutput(connection, bestEffort: false) && connection.PendingLength == 0)
            {
                Finish(connection);
            }
        }

        // The response is out: count it, send FIN after it, and linger until the client closes (its close_notify and
        // FIN, a round trip later), or at most the request timeout, reading and discarding. Closing with client bytes
        // unread would make the kernel answer with a reset and drop whatever of the response it had not yet sent (on
        // a real path, the unacknowledged tail): a client that sends its close_notify early could lose the response.
        // The connection keeps its slot meanwhile, so lingering clients are bounded like any other.
        private void Finish(Connection connection)
        {
            if (connection.ResponseCookies < 0)
            {
                _server.Counters.CountErrorSent();
            }
            else
            {
                _server.Counters.CountResponse();
                _server.Counters.CountCookiesIssued(connection.ResponseCookies);
            }

            if (ShutdownWrite(connection.Fd) != 0)
            {
                // The client is gone already (ENOTCONN): nothing left to protect.
                CloseConnection(connection);
                return;
            }

            // The TLS session and the request are done with: freed now, not when the client gets round to closing.
            connection.Session.Dispose();
            ReturnBuffers(connection);
            connection.State = ConnectionState.Lingering;
            connection.DeadlineNode.List?.Remove(connection.DeadlineNode);
            connection.Deadline = Environment.TickCount64 + (long)_server._options.RequestTimeout.TotalMilliseconds;
            _lingering.AddLast(connection.DeadlineNode);
            Linger(connection);
        }

        // Reads and drops what the client still sends (its close_notify) until its FIN, an error or EAGAIN.
        private void Linger(Connection connection)
        {
            while (true)
            {
                nint received = Receive(connection.Fd, _buffer);
                if (received > 0 || received == -EINTR)
                {
                    continue;
                }

                if (received != -EAGAIN)
                {
                    // 0: the client closed, as it should; an error (a reset): it is gone either way.
                    CloseConnection(connection);
                }

                return;
            }
        }

        // Sends what OpenSSL queued; what the socket does not take waits in Pending for EPOLLOUT. False when the
        // connection failed (and is closed), unless bestEffort.
        private bool SendOutput(Connection connection, bool bestEffort)
        {
            while (true)
            {
                int count = connection.Session.TakeOutput(_buffer);
                if (count == 0)
                {
                    return true;
                }

                if (connection.PendingLength > 0)
                {
                    AppendPending(connection, _buffer.AsSpan(0, count));
                    continue;
                }

                int sent = 0;
                while (sent < count)
                {
                    nint result = Send(connection.Fd, _buffer.AsSpan(sent, count - sent));
                    if (result > 0)
                    {
                        sent += (int)result;
                    }
                    else if (result == -EINTR)
                    {
                        continue;
                    }
                    else if (result == -EAGAIN)
                    {
                        AppendPending(connection, _buffer.AsSpan(sent, count - sent));
                        break;
                    }
                    else
                    {
                        if (!bestEffort)
                        {
                            Fail(connection, $"send failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage((int)-result)}");
                        }

                        return false;
                    }
                }
            }
        }

        private void AppendPending(Connection connection, ReadOnlySpan<byte> bytes)
        {
            byte[]? pending = connection.Pending;
            int used = connection.PendingOffset + connection.PendingLength;
            if (pending is null || used + bytes.Length > pending.Length)
            {
                byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(connection.PendingLength + bytes.Length, 4096));
                pending?.AsSpan(connection.PendingOffset, connection.PendingLength).CopyTo(larger);
                if (pending is not null)
                {
                    ArrayPool<byte>.Shared.Return(pending);
                }

                connection.Pending = pending = larger;
                connection.PendingOffset = 0;
                used = connection.PendingLength;
            }

            bytes.CopyTo(pending.AsSpan(used));
            connection.PendingLength += bytes.Length;
            if (!connection.WantsWrite)
            {
                // EPOLLOUT alone: with EPOLLIN too, a peer that sent more than we read would make a level-triggered
                // set report the connection at every wait until the send buffer drains.
                connection.WantsWrite = true;
                EpollCtl(_epoll, EPOLL_CTL_MOD, connection.Fd, EPOLLOUT, (uint)connection.Fd);
            }
        }

        // False when the socket still does not take everything, or failed (then the connection is closed).
        private bool FlushPending(Connection connection)
        {
            while (connection.PendingLength > 0)
            {
                nint result = Send(connection.Fd, connection.Pending.AsSpan(connection.PendingOffset, connection.PendingLength));
                if (result > 0)
                {
                    connection.PendingOffset += (int)result;
                    connection.PendingLength -= (int)result;
                }
                else if (result == -EINTR)
                {
                    continue;
                }
                else if (result == -EAGAIN)
                {
                    return false;
                }
                else
                {
                    Fail(connection, $"send failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage((int)-result)}");
                    return false;
                }
            }

            connection.PendingOffset = 0;
            connection.WantsWrite = false;
            EpollCtl(_epoll, EPOLL_CTL_MOD, connection.Fd, EPOLLIN | EPOLLRDHUP, (uint)connection.Fd);
            return true;
        }

        private void Expire(long now)
        {
            NtsKeServer server = _server;
            while (_handshakes.First is { } node && node.Value.Deadline <= now)
            {
                Connection connection = node.Value;
                TlsHandshakeException timeout = connection.Session.CreateTimeoutException(server._options.HandshakeTimeout);
                server.Counters.CountHandshakeFailed();
                LogHandshakeFailed(server._logger, connection.Peer, timeout.Reason, timeout.Message);
                CloseConnection(connection);
            }

            while (_lingering.First is { } node && node.Value.Deadline <= now)
            {
                // The client kept its side open past the request timeout: close; a reset now costs it nothing it needs.
                CloseConnection(node.Value);
            }

            while (_requests.First is { } node && node.Value.Deadline <= now)
            {
                Connection connection = node.Value;
                if (connection.State == ConnectionState.ReadingRequest)
                {
                    // RFC 8915 §4.1.3 would have Bad Request sent here; like chrony, the connection is closed without it.
                    server.Counters.CountRequestTimeout();
                    LogRequestTimeout(server._logger, connection.Peer, server._options.RequestTimeout.TotalSeconds);
                    CloseConnection(connection);
                }
                else
                {
                    Fail(connection, $"the client did not take the response within {server._options.RequestTimeout.TotalSeconds} s");
                }
            }

            if (_listenersPausedUntil != 0 && _listenersPausedUntil <= now)
            {
                _listenersPausedUntil = 0;
                for (int i = 0; i < _listeners.Count; i++)
                {
                    AddListener(i);
                }
            }
        }

        private void Fail(Connection connection, string problem)
        {
            if (connection.State == ConnectionState.Closed)
            {
                return;
            }

            _server.Counters.CountConnectionError();
            LogConnectionFailed(_server._logger, connection.Peer, problem);
            CloseConnection(connection);
        }

        private void CloseConnection(Connection connection)
        {
            if (connection.State == ConnectionState.Closed)
            {
                return;
            }

            connection.State = ConnectionState.Closed;
            _connections.Remove(connection.Fd);
            connection.DeadlineNode.List?.Remove(connection.DeadlineNode);
            connection.Session.Dispose();

            // Closing the descriptor also takes it out of the epoll set (it is never duplicated).
            Close(connection.Fd);
            ReturnBuffers(connection);
            _server.ReleaseSlot();

            // Stays Closed until Admit opens it again, which is never during a call that still holds it.
            if (_spare.Count < MaxSpareConnections)
            {
                _spare.Push(connection);
            }
        }

        private static void ReturnBuffers(Connection connection)
        {
            if (connection.Request is { } request)
            {
                ArrayPool<byte>.Shared.Return(request, clearArray: true);
                connection.Request = null;
            }

            if (connection.Pending is { } pending)
            {
                ArrayPool<byte>.Shared.Return(pending);
                connection.Pending = null;
            }
        }
    }
}
