using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        private const int AT_FDCWD = -100;
        private const uint STATX_MODE = 0x0002;
        private const uint STATX_UID = 0x0008;
        private const uint STATX_GID = 0x0010;

        // struct statx (linux/stat.h) has the same 256-byte layout on every architecture, unlike struct stat:
        // stx_uid at offset 20, stx_gid at 24, stx_mode (u16) at 28. Read from a byte buffer, so no struct mirror.
        private const int StatxSize = 256;
        private const int StatxUidOffset = 20;
        private const int StatxGidOffset = 24;
        private const int StatxModeOffset = 28;

        [LibraryImport(Libraries.Libc, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static unsafe partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

        /// <summary>
        /// statx(2) for a file's owner, group and mode bits (what .NET's File API does not expose), following
        /// symbolic links. Returns 0, or errno.
        /// </summary>
        internal static unsafe int GetFileOwnership(string path, out uint uid, out uint gid, out uint mode)
        {
            byte* buffer = stackalloc byte[StatxSize];
            new Span<byte>(buffer, StatxSize).Clear();
            if (StatxNative(AT_FDCWD, path, 0, STATX_MODE | STATX_UID | STATX_GID, buffer) != 0)
            {
                uid = gid = mode = 0;
                return Marshal.GetLastPInvokeError();
            }

            uid = *(uint*)(buffer + StatxUidOffset);
            gid = *(uint*)(buffer + StatxGidOffset);
            mode = *(ushort*)(buffer + StatxModeOffset);
            return 0;
        }
    }
}
