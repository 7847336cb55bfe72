using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <bits/socket.h>: recvmmsg returns after the first datagram instead of waiting to fill the vector.
        internal const int MSG_WAITFORONE = 0x10000;

        /// <summary>
        /// Mirror of <c>struct mmsghdr</c> (64 bytes on 64-bit Linux): a <c>struct msghdr</c> (56 bytes) and the
        /// <c>unsigned int msg_len</c> the kernel fills with the bytes received or sent, then 4 bytes of padding.
        /// </summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct MMsgHdr
        {
            internal MsgHdr Header;
            internal uint Length;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "sendmmsg", SetLastError = true)]
        private static unsafe partial int SendMMsgNative(int socket, MMsgHdr* vector, uint length, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "recvmmsg", SetLastError = true)]
        private static unsafe partial int RecvMMsgNative(int socket, MMsgHdr* vector, uint length, int flags, Timespec* timeout);

        /// <summary>
        /// <c>sendmmsg(2)</c>: sends up to <paramref name="length"/> datagrams described by <paramref name="vector"/>.
        /// Returns how many were sent (each entry's <see cref="MMsgHdr.Length"/> holds its byte count), or -1 with
        /// <paramref name="errno"/> set when not even the first could be sent. A count below
        /// <paramref name="length"/> means the entry at that index failed; the caller retries from there or drops it.
        /// </summary>
        internal static unsafe int SendMMsg(SafeHandle socket, MMsgHdr* vector, uint length, int flags, out int errno)
        {
            errno = 0;
            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                int sent = SendMMsgNative((int)socket.DangerousGetHandle(), vector, length, flags);
                if (sent < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                }

                return sent;
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
        /// <c>recvmmsg(2)</c>: receives up to <paramref name="length"/> datagrams into the buffers that
        /// <paramref name="vector"/> describes. Returns how many arrived, or -1 with <paramref name="errno"/> set
        /// (EAGAIN on a non-blocking socket with nothing waiting, or when SO_RCVTIMEO expires; EINTR). Before each
        /// call the caller resets every entry's <c>NameLength</c> and <c>ControlLength</c> to the buffer sizes,
        /// because the kernel overwrites them with what it used. <paramref name="timeout"/> may be null; note the
        /// kernel only checks it after each datagram, so use SO_RCVTIMEO to bound a wait on an idle socket.
        /// </summary>
        internal static unsafe int RecvMMsg(SafeHandle socket, MMsgHdr* vector, uint length, int flags, Timespec* timeout, out int errno)
        {
            errno = 0;
            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                int received = RecvMMsgNative((int)socket.DangerousGetHandle(), vector, length, flags, timeout);
                if (received < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                }

                return received;
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
        /// Finds the SCM_TIMESTAMPNS control message among the <paramref name="controlLength"/> bytes the kernel
        /// wrote at <paramref name="control"/> (CMSG_FIRSTHDR/CMSG_NXTHDR with 8-byte alignment) and returns it in
        /// nanoseconds since the Unix epoch, or 0 when there is none.
        /// </summary>
        internal static unsafe long ReadReceiveTimestamp(byte* control, nuint controlLength)
        {
            nuint offset = 0;
            while (offset + (nuint)sizeof(CmsgHdr) <= controlLength)
            {
                var header = (CmsgHdr*)(control + offset);
                if (header->Length < (nuint)sizeof(CmsgHdr) || offset + header->Length > controlLength)
                {
                    break;
                }

                if (header->Level == SOL_SOCKET && header->Type == SCM_TIMESTAMPNS && header->Length >= (nuint)(sizeof(CmsgHdr) + sizeof(Timespec)))
                {
                    var ts = (Timespec*)(header + 1);
                    return (ts->TvSec * 1_000_000_000L) + ts->TvNsec;
                }

                offset += (header->Length + 7) & ~(nuint)7;
            }

            return 0;
        }
    }
}
