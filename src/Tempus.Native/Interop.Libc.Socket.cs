using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/socket.h>, <asm-generic/socket.h> (x86_64 and arm64 share these values).
        internal const int SOL_SOCKET = 1;
        internal const int SO_TIMESTAMPNS = 35;
        internal const int SCM_TIMESTAMPNS = SO_TIMESTAMPNS;
        internal const int SO_TIMESTAMPING = 37;
        internal const int SCM_TIMESTAMPING = SO_TIMESTAMPING;
        internal const int SO_REUSEPORT = 15;
        internal const int SO_RCVTIMEO = 20;
        internal const int MSG_DONTWAIT = 0x40;
        internal const int MSG_TRUNC = 0x20;
        internal const int MSG_CTRUNC = 0x08;
        internal const int MSG_ERRQUEUE = 0x2000;
        internal const int EAGAIN = 11;

        // <linux/net_tstamp.h>: software transmit timestamps, reported, keyed by a per-socket datagram counter, without
        // the datagram looped back.
        internal const int SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1;
        internal const int SOF_TIMESTAMPING_SOFTWARE = 1 << 4;
        internal const int SOF_TIMESTAMPING_OPT_ID = 1 << 7;
        internal const int SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11;

        // <linux/errqueue.h>, <linux/in.h>, <linux/in6.h>.
        internal const int SOL_IP = 0;
        internal const int IP_RECVERR = 11;
        internal const int SOL_IPV6 = 41;
        internal const int IPV6_RECVERR = 25;
        internal const byte SO_EE_ORIGIN_TIMESTAMPING = 4;
        internal const uint SCM_TSTAMP_SND = 0;

        /// <summary>Mirror of <c>struct sock_extended_err</c> (16 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct SockExtendedErr
        {
            internal uint Errno;
            internal byte Origin;
            internal byte Type;
            internal byte Code;
            internal byte Pad;
            internal uint Info;
            internal uint Data;
        }
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
        /// Turns on the kernel's software transmit timestamps (SO_TIMESTAMPING with SOF_TIMESTAMPING_TX_SOFTWARE, keyed
        /// with SOF_TIMESTAMPING_OPT_ID: the first datagram sent after this call is number 0). Each sent datagram then
        /// leaves a CLOCK_REALTIME timestamp, taken as the datagram is handed to the device, on the socket's error queue
        /// for <see cref="ReadTransmitTimestamp"/>. Returns 0, or the errno.
        /// </summary>
        internal static unsafe int EnableTransmitTimestamps(SafeHandle socket)
        {
            int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                return SetSockOptNative((int)socket.DangerousGetHandle(), SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(int)) == 0 ? 0 : Marshal.GetLastPInvokeError();
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
        /// Empties the socket's error queue (at most 16 entries: one per datagram sent, and a client has one request
        /// outstanding) and returns the software transmit timestamp of datagram <paramref name="datagramId"/> (its
        /// SOF_TIMESTAMPING_OPT_ID number) when it is among them.
        /// </summary>
        internal static bool TakeTransmitTimestamp(SafeHandle socket, uint datagramId, out long timestampUnixNanoseconds)
        {
            timestampUnixNanoseconds = 0;
            bool found = false;
            for (int i = 0; i < 16; i++)
            {
                int read = ReadTransmitTimestamp(socket, out long stamp, out uint id, out _);
                if (read < 0)
                {
                    break;
                }

                if (read == 1 && id == datagramId)
                {
                    timestampUnixNanoseconds = stamp;
                    found = true;
                }
            }

            return found;
        }

        /// <summary>
        /// Takes one entry off the socket's error queue without blocking (recvmsg with MSG_ERRQUEUE). Returns 1 with
        /// <paramref name="timestampUnixNanoseconds"/> and <paramref name="datagramId"/> (the SOF_TIMESTAMPING_OPT_ID
        /// counter of the datagram it stamps) for a software transmit timestamp; 0 for an entry that is something else
        /// (it is consumed); -1 with <paramref name="errno"/> set when the queue is empty (EAGAIN) or on error.
        /// </summary>
        internal static unsafe int ReadTransmitTimestamp(SafeHandle socket, out long timestampUnixNanoseconds, out uint datagramId, out int errno)
        {
            timestampUnixNanoseconds = 0;
            datagramId = 0;
            errno = 0;
            // SCM_TIMESTAMPING (cmsghdr 16 + three timespecs 48) and IP_RECVERR (16 + sock_extended_err 16 + the
            // offender's sockaddr up to 28), with room to spare; OPT_TSONLY leaves no payload, but a truncated one is harmless.
            const int ControlLength = 256;
            byte* control = stackalloc byte[ControlLength];
            byte* data = stackalloc byte[64];
            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                var iov = new IoVec { Base = data, Length = 64 };
                var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlLength };
                if (RecvMsgNative((int)socket.DangerousGetHandle(), &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return -1;
                }

                bool stamped = false;
                bool transmitStamp = false;
                nuint offset = 0;
                while (offset + (nuint)sizeof(CmsgHdr) <= message.ControlLength)
                {
                    var header = (CmsgHdr*)(control + offset);
                    if (header->Length < (nuint)sizeof(CmsgHdr) || offset + header->Length > message.ControlLength)
                    {
                        break;
                    }

                    if (header->Level == SOL_SOCKET && header->Type == SCM_TIMESTAMPING && header->Length >= (nuint)(sizeof(CmsgHdr) + sizeof(Timespec)))
                    {
                        // struct scm_timestamping { struct timespec ts[3]; }: [0] is the software timestamp.
                        var ts = (Timespec*)(header + 1);
                        timestampUnixNanoseconds = (ts->TvSec * 1_000_000_000L) + ts->TvNsec;
                        stamped = timestampUnixNanoseconds != 0;
                    }
                    else if (((header->Level == SOL_IP && header->Type == IP_RECVERR) || (header->Level == SOL_IPV6 && header->Type == IPV6_RECVERR))
                        && header->Length >= (nuint)(sizeof(CmsgHdr) + sizeof(SockExtendedErr)))
                    {
                        var error = (SockExtendedErr*)(header + 1);
                        transmitStamp = error->Origin == SO_EE_ORIGIN_TIMESTAMPING && error->Info == SCM_TSTAMP_SND;
                        datagramId = error->Data;
                    }

                    offset += (header->Length + 7) & ~(nuint)7;
                }

                return stamped && transmitStamp ? 1 : 0;
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
