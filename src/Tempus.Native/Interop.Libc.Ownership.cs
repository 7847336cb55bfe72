using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <fcntl.h>, <linux/stat.h>: AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID.
        private const int OwnershipAtFdCwd = -100;
        private const int OwnershipAtSymlinkNoFollow = 0x100;
        private const uint OwnershipStatxMask = 0x1 | 0x2 | 0x8 | 0x10;

        /// <summary><c>S_IFMT</c> and the file types of <c>st_mode</c> (<c>&lt;sys/stat.h&gt;</c>).</summary>
        internal const int S_IFMT = 0xF000;
        internal const int S_IFSOCK = 0xC000;
        internal const int S_IFDIR = 0x4000;
        internal const int S_IFREG = 0x8000;

        /// <summary>
        /// Mirror of the head of <c>struct statx</c> (<c>&lt;linux/stat.h&gt;</c>), the same on every architecture
        /// unlike <c>struct stat</c>; the kernel writes all 256 bytes, so the tail is reserved space.
        /// </summary>
        [StructLayout(LayoutKind.Sequential, Size = 256)]
        internal struct Statx
        {
            internal uint StxMask;
            internal uint StxBlksize;
            internal ulong StxAttributes;
            internal uint StxNlink;
            internal uint StxUid;
            internal uint StxGid;
            internal ushort StxMode;
            private ushort _spare0;
            internal ulong StxIno;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int StatxStructNative(int dirfd, string path, int flags, uint mask, out Statx buffer);

        [LibraryImport(Libraries.Libc, EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int LchownNative(string path, uint owner, uint group);

        /// <summary>
        /// Type, mode, owner and group of <paramref name="path"/> through statx(2), which .NET's file API does not
        /// expose. A final symlink is not followed unless <paramref name="followSymlinks"/> (the control socket checks
        /// the link itself; the audit checks the file a daemon would read). Returns 0 or errno.
        /// </summary>
        internal static int GetOwnership(string path, out uint uid, out uint gid, out int mode, bool followSymlinks = false)
        {
            if (StatxStructNative(OwnershipAtFdCwd, path, followSymlinks ? 0 : OwnershipAtSymlinkNoFollow, OwnershipStatxMask, out Statx st) != 0)
            {
                uid = gid = 0;
                mode = 0;
                return Marshal.GetLastPInvokeError();
            }

            uid = st.StxUid;
            gid = st.StxGid;
            mode = st.StxMode;
            return 0;
        }

        /// <summary>Sets the group of <paramref name="path"/> (not following a symlink), keeping its owner. Returns 0 or errno.</summary>
        internal static int SetGroup(string path, uint gid) =>
            LchownNative(path, uint.MaxValue, gid) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }
}
