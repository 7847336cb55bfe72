using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Tempus.LoadGen;

/// <summary>What one fixed-rate step measured.</summary>
/// <param name="TargetRate">Requests per second asked for.</param>
/// <param name="Seconds">How long the sender ran.</param>
/// <param name="WallSeconds">The whole step, drain included: the span the CPU figures cover.</param>
/// <param name="Sent">Requests sent.</param>
/// <param name="Answered">Valid responses counted (including those arriving in the drain after sending stopped).</param>
/// <param name="Invalid">Datagrams received that were not valid responses to our requests.</param>
/// <param name="ServerCpuSeconds">Server CPU time (process tree) over the step and its drain.</param>
/// <param name="GeneratorCpuSeconds">This process's CPU time over the step.</param>
/// <param name="OtherCpuSeconds">CPU time of every other process on the machine over the step (interrupts and softirqs not counted).</param>
/// <param name="ServerSocketDrops">Datagrams the kernel dropped at the server's full socket.</param>
/// <param name="GeneratorSocketDrops">Responses the kernel dropped at our full sockets.</param>
internal readonly record struct StepResult(
    double TargetRate, double Seconds, double WallSeconds, long Sent, long Answered, long Invalid,
    double ServerCpuSeconds, double GeneratorCpuSeconds, double OtherCpuSeconds, long ServerSocketDrops, long GeneratorSocketDrops)
{
    public double SendRate => Sent / Seconds;

    public double Loss => Sent == 0 ? 1 : Math.Max(0, 1 - ((double)Answered / Sent));

    /// <summary>The sender reached the target rate (within 3%): otherwise the step measured the generator.</summary>
    public bool GeneratorKeptUp => SendRate >= TargetRate * 0.97;

    public bool Passed(double maxLoss) => GeneratorKeptUp && Loss < maxLoss;

    /// <summary>CPU seconds as a share of one core over the step.</summary>
    public double Cores(double cpuSeconds) => cpuSeconds / WallSeconds;
}

/// <summary>
/// The open-loop load: many UDP sockets on 127.0.0.1 (one source port each) connected to the server, one sender
/// thread that paces sendmmsg batches at a target rate whatever comes back, and one receiver thread that waits with
/// poll on every socket and drains them with recvmmsg, counting valid responses.
/// </summary>
internal sealed unsafe class UdpLoad : IDisposable
{
    private const int Batch = 64;
    private const int ReceiveSlot = 2048;

    private readonly RequestPool _pool;
    private readonly Socket[] _sockets;
    private readonly HashSet<int> _localPorts = [];
    private readonly int _serverPort;
    private readonly int _nice;
    private readonly Interop.Libc.MMsgHdr[] _receiveMessages;
    private readonly Interop.Libc.IoVec[] _receiveVectors;
    private readonly byte[] _receiveBuffer;
    private readonly Thread _receiver;
    private volatile bool _stopping;
    private long _answered;
    private long _invalid;
    private int _next;

    public UdpLoad(RequestPool pool, IPEndPoint server, int socketCount, int nice)
    {
        _pool = pool;
        _nice = nice;
        _serverPort = server.Port;
        _sockets = new Socket[socketCount];
        try
        {
            for (int i = 0; i < socketCount; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                _sockets[i] = socket;
                // Room for bursts of responses while the receiver is descheduled (capped by net.core.rmem_max).
                socket.ReceiveBufferSize = 1 << 20;
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                socket.Connect(server);
                _localPorts.Add(((IPEndPoint)socket.LocalEndPoint!).Port);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        _receiveBuffer = GC.AllocateArray<byte>(Batch * ReceiveSlot, pinned: true);
        _receiveVectors = GC.AllocateArray<Interop.Libc.IoVec>(Batch, pinned: true);
        _receiveMessages = GC.AllocateArray<Interop.Libc.MMsgHdr>(Batch, pinned: true);
        for (int i = 0; i < Batch; i++)
        {
            _receiveVectors[i] = new Interop.Libc.IoVec { Base = (byte*)Unsafe.AsPointer(ref _receiveBuffer[i * ReceiveSlot]), Length = ReceiveSlot };
            _receiveMessages[i].Header.Iov = (Interop.Libc.IoVec*)Unsafe.AsPointer(ref _receiveVectors[i]);
            _receiveMessages[i].Header.IovLength = 1;
        }

        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = "loadgen receiver" };
        _receiver.Start();
    }

    public IReadOnlySet<int> LocalPorts => _localPorts;

    /// <summary>
    /// Sends at <paramref name="rate"/> requests per second for <paramref name="duration"/>, waits
    /// <paramref name="drain"/> for late responses, and reports the counts with the CPU used by
    /// <paramref name="serverPid"/> (and its children), by this process and by the rest of the machine.
    /// <paramref name="serverPid"/> 0 means no server (measuring the generator against a sink).
    /// </summary>
    public StepResult RunStep(double rate, TimeSpan duration, TimeSpan drain, int serverPid, CancellationToken cancellationToken)
    {
        var serverPorts = new HashSet<int> { _serverPort };
        long answered0 = Interlocked.Read(ref _answered);
        long invalid0 = Interlocked.Read(ref _invalid);
        double server0 = serverPid == 0 ? 0 : ProcStats.SampleTree(serverPid).CpuSeconds;
        double self0 = ProcStats.SelfCpuSeconds();
        double machine0 = ProcStats.MachineBusySeconds();
        long serverDrops0 = ProcStats.UdpDrops(serverPorts);
        long ourDrops0 = ProcStats.UdpDrops(_localPorts);

        long wallStart = Stopwatch.GetTimestamp();
        long sent = 0;
        double seconds = 0;
        var sender = new Thread(() => (sent, seconds) = Send(rate, duration, cancellationToken)) { Name = "loadgen sender" };
        sender.Start();
        sender.Join();
        if (!cancellationToken.IsCancellationRequested)
        {
            Thread.Sleep(drain);
        }

        double wall = Stopwatch.GetElapsedTime(wallStart).TotalSeconds;
        double server1 = serverPid == 0 ? 0 : ProcStats.SampleTree(serverPid).CpuSeconds;
        double self1 = ProcStats.SelfCpuSeconds();
        double machine1 = ProcStats.MachineBusySeconds();
        double serverCpu = server1 - server0;
        double selfCpu = self1 - self0;
        return new StepResult(
            rate, seconds, wall, sent,
            Interlocked.Read(ref _answered) - answered0,
            Interlocked.Read(ref _invalid) - invalid0,
            serverCpu, selfCpu, Math.Max(0, machine1 - machine0 - serverCpu - selfCpu),
            ProcStats.UdpDrops(serverPorts) - serverDrops0,
            ProcStats.UdpDrops(_localPorts) - ourDrops0);
    }

    public void Dispose()
    {
        _stopping = true;
        if (_receiver is not null && _receiver.IsAlive)
        {
            _receiver.Join(TimeSpan.FromSeconds(2));
        }

        foreach (Socket? socket in _sockets)
        {
            socket?.Dispose();
        }
    }

    // Open loop: after t seconds, rate × t requests are due whatever came back. Requests go out in batches of at
    // least ~100 µs worth (at most 64), round-robin over the sockets; between batches the thread sleeps with
    // clock_nanosleep and a 1 µs timer slack, so a burst stays far below a server socket's buffer.
    private (long Sent, double Seconds) Send(double rate, TimeSpan duration, CancellationToken cancellationToken)
    {
        Posix.SetTightTimerSlack();
        _ = Posix.SetThreadNice(_nice);
        int minBatch = (int)Math.Clamp(rate * 100e-6, 1, Batch);
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long sent = 0;
        int socketIndex = 0;
        long now = start;
        while (!cancellationToken.IsCancellationRequested)
        {
            now = Stopwatch.GetTimestamp();
            if (now >= end)
            {
                break;
            }

            double elapsed = (double)(now - start) / Stopwatch.Frequency;
            long due = (long)(rate * elapsed) - sent;
            if (due < minBatch)
            {
                long waitNs = (long)((minBatch - due) / rate * 1e9);
                Posix.SleepNanoseconds(Math.Clamp(waitNs, 5_000, 10_000_000));
                continue;
            }

            int count = (int)Math.Min(Math.Min(due, Batch), _pool.Count - _next);
            Socket socket = _sockets[socketIndex];
            socketIndex = socketIndex + 1 == _sockets.Length ? 0 : socketIndex + 1;
            int result = Interop.Libc.SendMMsg(socket.SafeHandle, _pool.Message(_next), (uint)count, 0, out int errno);
            if (result > 0)
            {
                sent += result;
                _next = (_next + result) % _pool.Count;
            }
            else if (errno != Posix.ECONNREFUSED && errno != Interop.Libc.EINTR && errno != Interop.Libc.EAGAIN)
            {
                throw new SocketException(errno);
            }
        }

        return (sent, (double)(Math.Min(now, end) - start) / Stopwatch.Frequency);
    }

    // poll costs a pass over every socket, so after each round the receiver naps 200 µs to let responses gather:
    // at most 5000 rounds a second, while the sockets' buffers hold far more than 200 µs of responses.
    private void ReceiveLoop()
    {
        Posix.SetTightTimerSlack();
        _ = Posix.SetThreadNice(_nice);
        Posix.PollFd[] fds = GC.AllocateArray<Posix.PollFd>(_sockets.Length, pinned: true);
        for (int i = 0; i < _sockets.Length; i++)
        {
            fds[i] = new Posix.PollFd { Fd = (int)_sockets[i].SafeHandle.DangerousGetHandle(), Events = Posix.POLLIN };
        }

        Posix.PollFd* pollFds = (Posix.PollFd*)Unsafe.AsPointer(ref fds[0]);
        Interop.Libc.MMsgHdr* messages = (Interop.Libc.MMsgHdr*)Unsafe.AsPointer(ref _receiveMessages[0]);
        while (!_stopping)
        {
            int ready = Posix.Poll(pollFds, (nuint)fds.Length, 20);
            if (ready <= 0)
            {
                continue;
            }

            Posix.SleepNanoseconds(200_000);

            for (int i = 0; i < fds.Length; i++)
            {
                if ((fds[i].Revents & Posix.POLLIN) == 0)
                {
                    continue;
                }

                while (true)
                {
                    int received = Interop.Libc.RecvMMsg(_sockets[i].SafeHandle, messages, Batch, Interop.Libc.MSG_DONTWAIT, null, out _);
                    if (received <= 0)
                    {
                        break;
                    }

                    long valid = 0;
                    for (int m = 0; m < received; m++)
                    {
                        if (_pool.IsResponse(_receiveBuffer.AsSpan(m * ReceiveSlot, (int)_receiveMessages[m].Length)))
                        {
                            valid++;
                        }
                    }

                    Interlocked.Add(ref _answered, valid);
                    if (valid != received)
                    {
                        Interlocked.Add(ref _invalid, received - valid);
                    }

                    if (received < Batch)
                    {
                        break;
                    }
                }
            }
        }
    }
}
