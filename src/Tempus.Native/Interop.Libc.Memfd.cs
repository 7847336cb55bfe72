using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <linux/memfd.h>.
        internal const uint MFD_CLOEXEC = 0x0001;
        internal const uint MFD_ALLOW_SEALING = 0x0002;

        // <linux/fcntl.h>: F_LINUX_SPECIFIC_BASE (1024) + 9 and + 10, and the seals.
        internal const int F_ADD_SEALS = 1024 + 9;
        internal const int F_GET_SEALS = 1024 + 10;
        internal const int F_SEAL_SEAL = 0x0001;
        internal const int F_SEAL_SHRINK = 0x0002;
        internal const int F_SEAL_GROW = 0x0004;
        internal const int F_SEAL_WRITE = 0x0008;

        // <asm-generic/errno-base.h>, <asm-generic/errno.h> (EPERM and ENOBUFS are in Timex and Epoll).
        internal const int ENOENT = 2;
        internal const int EMSGSIZE = 90;

        // <linux/socket.h> (MSG_NOSIGNAL is in Epoll).
        internal const int SCM_RIGHTS = 0x01;
        internal const int MSG_CMSG_CLOEXEC = 0x40000000;

        // CMSG_LEN(sizeof(int)) and CMSG_SPACE(sizeof(int)) on 64-bit Linux: the 16-byte header, then the data padded
        // to 8 bytes.
        private const int OneFdControlLength = 16 + sizeof(int);
        private const int OneFdControlSpace = 16 + 8;

        [LibraryImport(Libraries.Libc, EntryPoint = "memfd_create", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int MemfdCreateNative(string name, uint flags);

        // fcntl(2) is variadic; F_ADD_SEALS and F_GET_SEALS take an int or nothing, which x86_64 and arm64 Linux pass
        // in the same register as a fixed int argument.
        [LibraryImport(Libraries.Libc, EntryPoint = "fcntl", SetLastError = true)]
        private static partial int FcntlIntNative(int fd, int command, int argument);

        [LibraryImport(Libraries.Libc, EntryPoint = "sendmsg", SetLastError = true)]
        private static unsafe partial nint SendMsgNative(int socket, MsgHdr* message, int flags);

        /// <summary>
        /// memfd_create(2) with MFD_CLOEXEC | MFD_ALLOW_SEALING: an anonymous file in memory that can be sealed once
        /// written. <paramref name="name"/> shows in /proc/PID/fd as <c>/memfd:name</c>. Null with
        /// <paramref name="errno"/> set when the kernel refuses (ENOSYS before Linux 3.17, EMFILE, ENOMEM).
        /// </summary>
        internal static SafeFileHandle? CreateSealableMemfd(string name, out int errno)
        {
            int fd = MemfdCreateNative(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
            if (fd < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return null;
            }

            errno = 0;
            return new SafeFileHandle(fd, ownsHandle: true);
        }

        /// <summary>fcntl(F_ADD_SEALS): adds <paramref name="seals"/> (F_SEAL_*) to a memfd. Returns 0 or errno.</summary>
        internal static int AddSeals(SafeHandle fd, int seals)
        {
            bool added = false;
            try
            {
                fd.DangerousAddRef(ref added);
                return FcntlIntNative((int)fd.DangerousGetHandle(), F_ADD_SEALS, seals) == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
            finally
            {
                if (added)
                {
                    fd.DangerousRelease();
                }
            }
        }

        /// <summary>fcntl(F_GET_SEALS): the seals (F_SEAL_*) of a memfd. Returns 0 or errno (EINVAL for a file that is not one).</summary>
        internal static int GetSeals(SafeHandle fd, out int seals)
        {
            bool added = false;
            try
            {
                fd.DangerousAddRef(ref added);
                seals = FcntlIntNative((int)fd.DangerousGetHandle(), F_GET_SEALS, 0);
                if (seals < 0)
                {
                    seals = 0;
                    return Marshal.GetLastPInvokeError();
                }

                return 0;
            }
            finally
            {
                if (added)
                {
                    fd.DangerousRelease();
                }
            }
        }

        /// <summary>
        /// Sends an empty datagram to <paramref name="address"/> (a <c>struct sockaddr</c>, as
        /// <see cref="System.Net.SocketAddress"/> holds it) carrying <paramref name="fd"/> in one SCM_RIGHTS control
        /// message: how sd_journal_sendv hands journald an entry too large for a datagram. The receiver gets its own
        /// descriptor; <paramref name="fd"/> stays the caller's to close. Returns 0 or errno (EAGAIN on a full queue
        /// of a non-blocking socket, ENOENT or ECONNREFUSED when nothing is bound there).
        /// </summary>
        internal static unsafe int SendFileDescriptor(SafeHandle socket, ReadOnlySpan<byte> address, SafeHandle fd)
        {
            byte* control = stackalloc byte[OneFdControlSpace];
            new Span<byte>(control, OneFdControlSpace).Clear();
            bool socketAdded = false;
            bool fdAdded = false;
            try
            {
                socket.DangerousAddRef(ref socketAdded);
                fd.DangerousAddRef(ref fdAdded);
                var header = (CmsgHdr*)control;
                header->Length = OneFdControlLength;
                header->Level = SOL_SOCKET;
                header->Type = SCM_RIGHTS;
                *(int*)(header + 1) = (int)fd.DangerousGetHandle();
                fixed (byte* name = address)
                {
                    // No iovec: journald takes a datagram of no bytes and one descriptor as an entry in a file.
                    var message = new MsgHdr { Name = name, NameLength = (uint)address.Length, Control = control, ControlLength = OneFdControlSpace };
                    return SendMsgNative((int)socket.DangerousGetHandle(), &message, MSG_NOSIGNAL) >= 0 ? 0 : Marshal.GetLastPInvokeError();
                }
            }
            finally
            {
                if (fdAdded)
                {
                    fd.DangerousRelease();
                }

                if (socketAdded)
                {
                    socket.DangerousRelease();
                }
            }
        }

        /// <summary>
        /// Receives one datagram (blocking as the socket is) into <paramref name="buffer"/>, with the descriptors it
        /// carries in SCM_RIGHTS control messages (close-on-exec): the first as <paramref name="fd"/>, any others
        /// closed and counted in <paramref name="descriptors"/>. Returns 0 with <paramref name="received"/> the
        /// datagram's length, or errno. <paramref name="truncated"/> is true when the datagram or the control data
        /// did not fit (MSG_TRUNC, MSG_CTRUNC).
        /// </summary>
        internal static unsafe int ReceiveWithFileDescriptor(SafeHandle socket, Span<byte> buffer, out int received, out SafeFileHandle? fd, out int descriptors, out bool truncated)
        {
            received = 0;
            fd = null;
            descriptors = 0;
            truncated = false;
            // Room for a few descriptors, so a sender passing more is seen rather than cut off.
            const int ControlLength = 16 + (8 * sizeof(int));
            byte* control = stackalloc byte[ControlLength];
            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                fixed (byte* data = buffer)
                {
                    var iov = new IoVec { Base = data, Length = (nuint)buffer.Length };
                    var message = new MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = ControlLength };
                    nint n = RecvMsgNative((int)socket.DangerousGetHandle(), &message, MSG_CMSG_CLOEXEC);
                    if (n < 0)
                    {
                        return Marshal.GetLastPInvokeError();
                    }

                    received = (int)n;
                    truncated = (message.Flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
                    nuint offset = 0;
                    while (offset + (nuint)sizeof(CmsgHdr) <= message.ControlLength)
                    {
                        var header = (CmsgHdr*)(control + offset);
                        if (header->Length < (nuint)sizeof(CmsgHdr) || offset + header->Length > message.ControlLength)
                        {
                            break;
                        }

                        if (header->Level == SOL_SOCKET && header->Type == SCM_RIGHTS)
                        {
                            int count = (int)((header->Length - (nuint)sizeof(CmsgHdr)) / sizeof(int));
                            var fds = (int*)(header + 1);
                            for (int i = 0; i < count; i++)
                            {
                                descriptors++;
                                if (fd is null)
                                {
                                    fd = new SafeFileHandle(fds[i], ownsHandle: true);
                                }
                                else
                                {
                                    _ = CloseNative(fds[i]);
                                }
                            }
                        }

                        offset += (header->Length + 7) & ~(nuint)7;
                    }

                    return 0;
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
