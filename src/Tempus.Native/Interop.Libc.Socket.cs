using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/socket.h>, <asm-generic/socket.h> (x86_64 and arm64 share these values).
        internal const int SOL_SOCKET = 1;
        internal const int SO_TIMESTAMPNS = 35;
        internal const int SCM_TIMESTAMPNS = SO_TIMESTAMPNS;
        internal const int SO_REUSEPORT = 15;
        internal const int SO_RCVTIMEO = 20;
        internal const int MSG_DONTWAIT = 0x40;
        internal const int MSG_TRUNC = 0x20;
        internal const int MSG_CTRUNC = 0x08;
        internal const int EAGAIN = 11;
        internal const int EINTR = 4;

        /// <summary>Mirror of <c>struct iovec</c> (16 bytes on 64-bit Linux).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct IoVec
        {
            internal void* Base;
            internal nuint Length;
        }

        /// <summary>Mirror of <c>struct msghdr</c> (56 bytes on 64-bit Linux; padding after the two ints).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct MsgHdr
        {
            internal void* Name;
            internal uint NameLength;
            internal IoVec* Iov;
            internal nuint IovLength;
            internal void* Control;
            internal nuint ControlLength;
            internal int Flags;
        }

        /// <summary>Mirror of <c>struct cmsghdr</c> (16 bytes on 64-bit Linux); data follows, 8-byte aligned.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct CmsgHdr
        {
            internal nuint Length;
            internal int Level;
            internal int Type;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "recvmsg", SetLastError = true)]
        private static unsafe partial nint RecvMsgNative(int socket, MsgHdr* message, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        private static unsafe partial int SetSockOptNative(int socket, int level, int optionName, void* optionValue, uint optionLength);

        /// <summary>Turns on kernel receive timestamps (CLOCK_REALTIME, nanoseconds) for a socket.</summary>
        internal static unsafe int EnableReceiveTimestamps(SafeHandle socket)
        {
            int on = 1;
            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                return SetSockOptNative((int)socket.DangerousGetHandle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(int)) == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
            finally
            {
                if (added)
                {
                    socket.DangerousRelease();
                }
            }
        }

        /// <summary>
        /// Receives one datagram without blocking, with the kernel's receive timestamp when the socket has
        /// SO_TIMESTAMPNS on. Returns the datagram length, or -1 with <paramref name="errno"/> set (EAGAIN when
        /// nothing is waiting). <paramref name="timestampUnixNanoseconds"/> is 0 when the kernel gave none.
        /// </summary>
        internal static int ReceiveTimestamped(SafeHandle socket, Span<byte> buffer, out long timestampUnixNanoseconds, out int errno) =>
            ReceiveTimestamped(socket, buffer, Span<byte>.Empty, out _, out timestampUnixNanoseconds, out errno);

        /// <summary>
        /// As <see cref="ReceiveTimestamped(SafeHandle, Span{byte}, out long, out int)"/>, also writing the sender's
        /// <c>struct sockaddr</c> into <paramref name="address"/> and its length into <paramref name="addressLength"/>.
        /// </summary>
        internal static unsafe int ReceiveTimestamped(SafeHandle socket, Span<byte> buffer, Span<byte> address, out int addressLength, out long timestampUnixNanoseconds, out int errno)
        {
            timestampUnixNanoseconds = 0;
            addressLength = 0;
            errno = 0;
            // Room for one SCM_TIMESTAMPNS: cmsghdr (16) + struct timespec (16), plus slack for others.
            byte* control = stackalloc byte[128];
            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                fixed (byte* data = buffer)
                fixed (byte* name = address)
                {
                    var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
                    var message = new MsgHdr { Name = name, NameLength = (uint)address.Length, Iov = &iov, IovLength = 1, Control = control, ControlLength = 128 };
                    nint received = RecvMsgNative((int)socket.DangerousGetHandle(), &message, MSG_DONTWAIT);
                    if (received < 0)
                    {
                        errno = Marshal.GetLastPInvokeError();
                        return -1;
                    }

                    addressLength = (int)message.NameLength;

                    // Walk the control messages (CMSG_FIRSTHDR/CMSG_NXTHDR with 8-byte alignment).
                    nuint offset = 0;
                    while (offset + (nuint)sizeof(CmsgHdr) <= message.ControlLength)
                    {
                        var header = (CmsgHdr*)(control + offset);
                        if (header->Length < (nuint)sizeof(CmsgHdr) || offset + header->Length > message.ControlLength)
                        {
                            break;
                        }

                        if (header->Level == SOL_SOCKET && header->Type == SCM_TIMESTAMPNS && header->Length >= (nuint)(sizeof(CmsgHdr) + sizeof(Timespec)))
                        {
                            var ts = (Timespec*)(header + 1);
                            timestampUnixNanoseconds = (ts->TvSec * 1_000_000_000L) + ts->TvNsec;
                        }

                        offset += (header->Length + 7) & ~(nuint)7;
                    }

                    return (int)received;
                }
            }
            finally
            {
                if (added)
                {
                    socket.DangerousRelease();
                }
            }
        }
    }
}
