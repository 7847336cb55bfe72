using System.Buffers.Binary;
using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/epoll.h>, <sys/eventfd.h>, <sys/socket.h>, <errno.h> (x86_64 and arm64 share these values).
        internal const int EPOLL_CLOEXEC = 0x80000;
        internal const int EPOLL_CTL_ADD = 1;
        internal const int EPOLL_CTL_DEL = 2;
        internal const int EPOLL_CTL_MOD = 3;
        internal const uint EPOLLIN = 0x001;
        internal const uint EPOLLOUT = 0x004;
        internal const uint EPOLLERR = 0x008;
        internal const uint EPOLLHUP = 0x010;
        internal const uint EPOLLRDHUP = 0x2000;
        internal const uint EPOLLEXCLUSIVE = 1u << 28;
        internal const int EFD_CLOEXEC = 0x80000;
        internal const int EFD_NONBLOCK = 0x800;
        internal const int SOCK_NONBLOCK = 0x800;
        internal const int SOCK_CLOEXEC = 0x80000;
        internal const int MSG_NOSIGNAL = 0x4000;
        internal const int AF_INET = 2;
        internal const int AF_INET6 = 10;
        internal const int ECONNABORTED = 103;
        internal const int EMFILE = 24;
        internal const int ENFILE = 23;
        internal const int ENOBUFS = 105;
        internal const int ENOMEM = 12;

        /// <summary>
        /// Bytes of one <c>struct epoll_event</c>: the kernel declares it packed on x86_64 (u32 events, then u64 data at
        /// offset 4: 12 bytes) and naturally aligned elsewhere (data at offset 8: 16 bytes).
        /// </summary>
        internal static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

        /// <summary>Room for a <c>struct sockaddr_storage</c>.</summary>
        internal const int SockAddrStorageSize = 128;

        private static readonly int s_epollDataOffset = EpollEventSize == 12 ? 4 : 8;

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_create1", SetLastError = true)]
        private static partial int EpollCreate1Native(int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
        private static unsafe partial int EpollCtlNative(int epfd, int op, int fd, byte* ev);

        [LibraryImport(Libraries.Libc, EntryPoint = "epoll_wait", SetLastError = true)]
        private static unsafe partial int EpollWaitNative(int epfd, byte* events, int maxEvents, int timeout);

        [LibraryImport(Libraries.Libc, EntryPoint = "eventfd", SetLastError = true)]
        private static partial int EventFdNative(uint initval, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "accept4", SetLastError = true)]
        private static unsafe partial int Accept4Native(int fd, byte* addr, uint* addrLength, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "recv", SetLastError = true)]
        private static unsafe partial nint RecvNative(int fd, byte* buffer, nuint length, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "send", SetLastError = true)]
        private static unsafe partial nint SendNative(int fd, byte* buffer, nuint length, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "shutdown", SetLastError = true)]
        private static partial int ShutdownNative(int fd, int how);

        [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
        private static unsafe partial nint WriteNative(int fd, byte* buffer, nuint length);

        /// <summary>epoll_create1(EPOLL_CLOEXEC): a new epoll descriptor, or -errno.</summary>
        internal static int EpollCreate()
        {
            int fd = EpollCreate1Native(EPOLL_CLOEXEC);
            return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
        }

        /// <summary>epoll_ctl with one event mask and a 64-bit cookie; 0 or -errno.</summary>
        internal static unsafe int EpollCtl(int epfd, int op, int fd, uint events, ulong data)
        {
            byte* ev = stackalloc byte[16];
            var span = new Span<byte>(ev, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(span, events);
            MemoryMarshal.Write(span.Slice(s_epollDataOffset), in data);
            return EpollCtlNative(epfd, op, fd, ev) == 0 ? 0 : -Marshal.GetLastPInvokeError();
        }

        /// <summary>epoll_wait into <paramref name="events"/> (a multiple of <see cref="EpollEventSize"/>): the count, or -errno.</summary>
        internal static unsafe int EpollWait(int epfd, Span<byte> events, int timeoutMilliseconds)
        {
            fixed (byte* ptr = events)
            {
                int count = EpollWaitNative(epfd, ptr, events.Length / EpollEventSize, timeoutMilliseconds);
                return count >= 0 ? count : -Marshal.GetLastPInvokeError();
            }
        }

        /// <summary>The mask and cookie of event <paramref name="index"/> that <see cref="EpollWait"/> returned.</summary>
        internal static (uint Events, ulong Data) GetEpollEvent(ReadOnlySpan<byte> events, int index)
        {
            ReadOnlySpan<byte> ev = events.Slice(index * EpollEventSize, EpollEventSize);
            return (BinaryPrimitives.ReadUInt32LittleEndian(ev), MemoryMarshal.Read<ulong>(ev.Slice(s_epollDataOffset)));
        }

        /// <summary>eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC): a descriptor to wake epoll loops with, or -errno.</summary>
        internal static int EventFd()
        {
            int fd = EventFdNative(0, EFD_NONBLOCK | EFD_CLOEXEC);
            return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
        }

        /// <summary>Adds 1 to an eventfd, making it readable.</summary>
        internal static unsafe void SignalEventFd(int fd)
        {
            ulong one = 1;
            _ = WriteNative(fd, (byte*)&one, sizeof(ulong));
        }

        /// <summary>
        /// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC: the new descriptor, or -errno; the peer's
        /// <c>struct sockaddr</c> goes into <paramref name="address"/> (<see cref="SockAddrStorageSize"/> bytes).
        /// </summary>
        internal static unsafe int Accept(SafeHandle listener, Span<byte> address)
        {
            bool added = false;
            try
            {
                listener.DangerousAddRef(ref added);
                uint length = (uint)address.Length;
                fixed (byte* ptr = address)
                {
                    int fd = Accept4Native((int)listener.DangerousGetHandle(), ptr, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    return fd >= 0 ? fd : -Marshal.GetLastPInvokeError();
                }
            }
            finally
            {
                if (added)
                {
                    listener.DangerousRelease();
                }
            }
        }

        /// <summary>recv(2) without flags: bytes read, 0 at end of stream, or -errno.</summary>
        internal static unsafe nint Receive(int fd, Span<byte> buffer)
        {
            fixed (byte* ptr = buffer)
            {
                nint count = RecvNative(fd, ptr, (nuint)buffer.Length, 0);
                return count >= 0 ? count : -Marshal.GetLastPInvokeError();
            }
        }

        /// <summary>send(2) with MSG_NOSIGNAL (a closed peer is EPIPE, not SIGPIPE): bytes sent, or -errno.</summary>
        internal static unsafe nint Send(int fd, ReadOnlySpan<byte> buffer)
        {
            fixed (byte* ptr = buffer)
            {
                nint count = SendNative(fd, ptr, (nuint)buffer.Length, MSG_NOSIGNAL);
                return count >= 0 ? count : -Marshal.GetLastPInvokeError();
            }
        }

        /// <summary>shutdown(2) with SHUT_WR: a FIN after what was sent, the socket still reads; 0 or -errno.</summary>
        internal static int ShutdownWrite(int fd) => ShutdownNative(fd, 1) == 0 ? 0 : -Marshal.GetLastPInvokeError();

        /// <summary>close(2) (the import is in Interop.Libc.File.cs); errors are ignored: Linux frees the descriptor whatever close returns.</summary>
        internal static void Close(int fd) => _ = CloseNative(fd);

        /// <summary>The address and port of a <c>struct sockaddr_in</c> or <c>sockaddr_in6</c>, or null for another family.</summary>
        internal static System.Net.IPEndPoint? ParseSockAddr(ReadOnlySpan<byte> address)
        {
            ushort family = MemoryMarshal.Read<ushort>(address);
            int port = BinaryPrimitives.ReadUInt16BigEndian(address.Slice(2));
            return family switch
            {
                AF_INET => new System.Net.IPEndPoint(new System.Net.IPAddress(address.Slice(4, 4)), port),
                AF_INET6 => new System.Net.IPEndPoint(new System.Net.IPAddress(address.Slice(8, 16), MemoryMarshal.Read<uint>(address.Slice(24))), port),
                _ => null,
            };
        }
    }
}
