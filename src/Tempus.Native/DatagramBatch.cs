using System.Runtime.InteropServices;

namespace Tempus.Native;

/// <summary>
/// A fixed set of datagram slots in native memory for <c>recvmmsg</c>/<c>sendmmsg</c>: per slot a receive buffer,
/// a sender address (<c>struct sockaddr_storage</c>), a control buffer for SCM_TIMESTAMPNS, a send buffer and a
/// destination address. Everything is allocated once by the constructor and never moves, so the kernel is handed
/// stable pointers and a steady-state receive/process/send cycle allocates nothing. Not thread-safe: one owner
/// (one server worker, one load-generator thread).
/// </summary>
internal sealed unsafe class DatagramBatch : IDisposable
{
    /// <summary><c>sizeof(struct sockaddr_storage)</c>: room for any address family.</summary>
    public const int AddressSize = 128;

    // cmsghdr (16) + struct timespec (16) for SCM_TIMESTAMPNS, with room to spare for another control message.
    private const int ControlSize = 64;

    private readonly int _capacity;
    private readonly int _bufferSize;
    private byte* _block;
    private Interop.Libc.MMsgHdr* _receive;
    private Interop.Libc.MMsgHdr* _send;
    private Interop.Libc.IoVec* _receiveIov;
    private Interop.Libc.IoVec* _sendIov;
    private byte* _receiveData;
    private byte* _receiveNames;
    private byte* _control;
    private byte* _sendData;
    private byte* _sendNames;
    private int _queued;

    /// <summary>Allocates <paramref name="capacity"/> slots of <paramref name="bufferSize"/> bytes each way.</summary>
    public DatagramBatch(int capacity, int bufferSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 48);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bufferSize, 65536);
        _capacity = capacity;
        _bufferSize = (bufferSize + 7) & ~7;

        nuint headers = (nuint)(capacity * sizeof(Interop.Libc.MMsgHdr));
        nuint iovs = (nuint)(capacity * sizeof(Interop.Libc.IoVec));
        nuint data = (nuint)capacity * (nuint)_bufferSize;
        nuint names = (nuint)(capacity * AddressSize);
        nuint control = (nuint)(capacity * ControlSize);
        nuint total = (2 * headers) + (2 * iovs) + (2 * data) + (2 * names) + control;
        _block = (byte*)NativeMemory.AlignedAlloc(total, 64);
        NativeMemory.Clear(_block, total);

        byte* p = _block;
        _receive = (Interop.Libc.MMsgHdr*)p;
        p += headers;
        _send = (Interop.Libc.MMsgHdr*)p;
        p += headers;
        _receiveIov = (Interop.Libc.IoVec*)p;
        p += iovs;
        _sendIov = (Interop.Libc.IoVec*)p;
        p += iovs;
        _receiveData = p;
        p += data;
        _sendData = p;
        p += data;
        _receiveNames = p;
        p += names;
        _sendNames = p;
        p += names;
        _control = p;

        for (int i = 0; i < capacity; i++)
        {
            _receiveIov[i] = new Interop.Libc.IoVec { Base = _receiveData + ((nuint)i * (nuint)_bufferSize), Length = (nuint)_bufferSize };
            _receive[i].Header.Iov = &_receiveIov[i];
            _receive[i].Header.IovLength = 1;
            _receive[i].Header.Name = _receiveNames + (i * AddressSize);
            _receive[i].Header.Control = _control + (i * ControlSize);
        }

        ResetReceive(capacity);
    }

    /// <summary>Number of slots.</summary>
    public int Capacity => _capacity;

    /// <summary>Size of each slot's receive and send buffer.</summary>
    public int BufferSize => _bufferSize;

    /// <summary>Datagrams queued by <see cref="QueueSend"/> and not yet sent.</summary>
    public int QueuedCount => _queued;

    /// <summary>
    /// One <c>recvmmsg</c> into every slot; returns the number of datagrams received (slots 0 to n-1), or -1 with
    /// <paramref name="errno"/> set (EAGAIN when SO_RCVTIMEO expired or nothing waits on a non-blocking call).
    /// With <see cref="Interop.Libc.MSG_WAITFORONE"/> a blocking socket waits for the first datagram only.
    /// </summary>
    public int Receive(SafeHandle socket, int flags, out int errno)
    {
        ObjectDisposedException.ThrowIf(_block is null, this);
        int received = Interop.Libc.RecvMMsg(socket, _receive, (uint)_capacity, flags, null, out errno);
        return received;
    }

    /// <summary>The datagram received in <paramref name="slot"/> (truncated to the buffer when <see cref="IsTruncated"/>).</summary>
    public ReadOnlySpan<byte> ReceivedData(int slot)
    {
        CheckSlot(slot);
        int length = (int)Math.Min(_receive[slot].Length, (uint)_bufferSize);
        return new ReadOnlySpan<byte>(_receiveData + ((nuint)slot * (nuint)_bufferSize), length);
    }

    /// <summary>Whether the datagram in <paramref name="slot"/> was longer than the buffer (MSG_TRUNC).</summary>
    public bool IsTruncated(int slot)
    {
        CheckSlot(slot);
        return (_receive[slot].Header.Flags & Interop.Libc.MSG_TRUNC) != 0;
    }

    /// <summary>The sender's <c>struct sockaddr</c> for the datagram in <paramref name="slot"/>.</summary>
    public ReadOnlySpan<byte> ReceivedAddress(int slot)
    {
        CheckSlot(slot);
        int length = (int)Math.Min(_receive[slot].Header.NameLength, (uint)AddressSize);
        return new ReadOnlySpan<byte>(_receiveNames + (slot * AddressSize), length);
    }

    /// <summary>The kernel receive timestamp (Unix nanoseconds) of the datagram in <paramref name="slot"/>; 0 when none.</summary>
    public long ReceiveTimestamp(int slot)
    {
        CheckSlot(slot);
        return Interop.Libc.ReadReceiveTimestamp(_control + (slot * ControlSize), _receive[slot].Header.ControlLength);
    }

    /// <summary>
    /// Makes every slot ready for the next <see cref="Receive"/>: the kernel overwrote the address and control
    /// lengths and the flags with what it used. Call with the count the last receive returned.
    /// </summary>
    public void ResetReceive(int used)
    {
        for (int i = 0; i < Math.Min(used, _capacity); i++)
        {
            _receive[i].Header.NameLength = AddressSize;
            _receive[i].Header.ControlLength = ControlSize;
            _receive[i].Header.Flags = 0;
            _receive[i].Length = 0;
        }
    }

    /// <summary>The send buffer of <paramref name="slot"/>, <see cref="BufferSize"/> bytes, to write a datagram into.</summary>
    public Span<byte> SendBuffer(int slot)
    {
        CheckSlot(slot);
        return new Span<byte>(_sendData + ((nuint)slot * (nuint)_bufferSize), _bufferSize);
    }

    /// <summary>
    /// Queues the first <paramref name="length"/> bytes of <paramref name="slot"/>'s send buffer for the next
    /// <see cref="SendQueued"/>, to the <c>struct sockaddr</c> in <paramref name="address"/> (copied).
    /// </summary>
    public void QueueSend(int slot, int length, ReadOnlySpan<byte> address)
    {
        CheckSlot(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)length, (uint)_bufferSize, nameof(length));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(address.Length, AddressSize, nameof(address));
        if (_queued >= _capacity)
        {
            throw new InvalidOperationException("every slot is already queued");
        }

        byte* name = _sendNames + (_queued * AddressSize);
        address.CopyTo(new Span<byte>(name, AddressSize));
        _sendIov[_queued] = new Interop.Libc.IoVec { Base = _sendData + ((nuint)slot * (nuint)_bufferSize), Length = (nuint)length };
        ref Interop.Libc.MMsgHdr entry = ref _send[_queued];
        entry = default;
        entry.Header.Name = name;
        entry.Header.NameLength = (uint)address.Length;
        entry.Header.Iov = &_sendIov[_queued];
        entry.Header.IovLength = 1;
        _queued++;
    }

    /// <summary>
    /// Sends every queued datagram with as few <c>sendmmsg</c> calls as the kernel allows, then empties the queue.
    /// A datagram the kernel refuses (its errno goes to <paramref name="lastErrno"/>) is skipped and counted in
    /// <paramref name="failed"/>; the others still go. Returns the number sent.
    /// </summary>
    public int SendQueued(SafeHandle socket, out int failed, out int lastErrno)
    {
        ObjectDisposedException.ThrowIf(_block is null, this);
        int sent = 0;
        failed = 0;
        lastErrno = 0;
        int next = 0;
        // Each call sends at least one datagram or skips one, so this ends after at most _queued calls.
        while (next < _queued)
        {
            int n = Interop.Libc.SendMMsg(socket, _send + next, (uint)(_queued - next), 0, out int errno);
            if (n > 0)
            {
                sent += n;
                next += n;
                continue;
            }

            if (errno == Interop.Libc.EINTR)
            {
                continue;
            }

            // The entry at `next` failed (e.g. EPERM from a firewall, EAGAIN with a full send buffer): drop it.
            lastErrno = errno;
            failed++;
            next++;
        }

        _queued = 0;
        return sent;
    }

    /// <summary>Empties the send queue without sending.</summary>
    public void ClearQueue() => _queued = 0;

    /// <summary>
    /// Fills <paramref name="slot"/> as the kernel would have: the datagram, the sender's address and, when
    /// <paramref name="timestampUnixNanoseconds"/> is not 0, an SCM_TIMESTAMPNS control message. For tests and
    /// benchmarks that drive a server's batch processing with no socket.
    /// </summary>
    public void SetReceived(int slot, ReadOnlySpan<byte> data, ReadOnlySpan<byte> address, long timestampUnixNanoseconds)
    {
        CheckSlot(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(data.Length, _bufferSize, nameof(data));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(address.Length, AddressSize, nameof(address));
        data.CopyTo(new Span<byte>(_receiveData + ((nuint)slot * (nuint)_bufferSize), _bufferSize));
        address.CopyTo(new Span<byte>(_receiveNames + (slot * AddressSize), AddressSize));
        ref Interop.Libc.MMsgHdr entry = ref _receive[slot];
        entry.Length = (uint)data.Length;
        entry.Header.NameLength = (uint)address.Length;
        entry.Header.Flags = 0;
        if (timestampUnixNanoseconds == 0)
        {
            entry.Header.ControlLength = 0;
            return;
        }

        var header = (Interop.Libc.CmsgHdr*)(_control + (slot * ControlSize));
        header->Length = (nuint)(sizeof(Interop.Libc.CmsgHdr) + sizeof(Interop.Libc.Timespec));
        header->Level = Interop.Libc.SOL_SOCKET;
        header->Type = Interop.Libc.SCM_TIMESTAMPNS;
        var ts = (Interop.Libc.Timespec*)(header + 1);
        ts->TvSec = timestampUnixNanoseconds / 1_000_000_000L;
        ts->TvNsec = timestampUnixNanoseconds % 1_000_000_000L;
        entry.Header.ControlLength = header->Length;
    }

    /// <summary>Frees the native memory.</summary>
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~DatagramBatch() => Free();

    private void Free()
    {
        if (_block is not null)
        {
            NativeMemory.AlignedFree(_block);
            _block = null;
            _receive = null;
            _send = null;
        }
    }

    private void CheckSlot(int slot)
    {
        ObjectDisposedException.ThrowIf(_block is null, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)_capacity, nameof(slot));
    }
}
