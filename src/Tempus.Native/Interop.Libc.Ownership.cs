using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <fcntl.h>, <linux/stat.h>: AT_FDCWD, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID.
        private const int OwnershipAtFdCwd = -100;
        private const int OwnershipAtSymlinkNoFollow = 0x100;
        private const uint OwnershipStatxMask = 0x1 | 0x2 | 0x8 | 0x10;

        // <fcntl.h> AT_EMPTY_PATH (statx of the descriptor itself), <linux/stat.h> STATX_INO; the device numbers
        // are always filled in.
        private const int IdentityAtEmptyPath = 0x1000;
        private const uint IdentityStatxMask = 0x100;

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
            private ulong _stxSize;
            private ulong _stxBlocks;
            private ulong _stxAttributesMask;
            private unsafe fixed byte _stxTimes[4 * 16];
            internal uint StxRdevMajor;
            internal uint StxRdevMinor;
            internal uint StxDevMajor;
            internal uint StxDevMinor;
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

        /// <summary>
        /// The device and inode numbers of the open file <paramref name="fd"/> (statx(2) with <c>AT_EMPTY_PATH</c>, as
        /// fstat(2) would give them), the device as glibc's <c>makedev</c> encodes <c>st_dev</c>: systemd writes
        /// <c>JOURNAL_STREAM</c> as <c>st_dev:st_ino</c> of the journal stream for a service to compare with its
        /// stderr. Returns 0 or errno.
        /// </summary>
        internal static int GetFileIdentity(int fd, out ulong device, out ulong inode)
        {
            if (StatxStructNative(fd, "", IdentityAtEmptyPath, IdentityStatxMask, out Statx st) != 0)
            {
                device = inode = 0;
                return Marshal.GetLastPInvokeError();
            }

            // <sys/sysmacros.h> __gnu_dev_makedev: the 64-bit dev_t glibc's fstat returns.
            ulong major = st.StxDevMajor, minor = st.StxDevMinor;
            device = ((major & 0xFFFu) << 8) | ((major & 0xFFFF_F000u) << 32) | (minor & 0xFFu) | ((minor & 0xFFFF_FF00u) << 12);
            inode = st.StxIno;
            return 0;
        }

        /// <summary>Sets the group of <paramref name="path"/> (not following a symlink), keeping its owner. Returns 0 or errno.</summary>
        internal static int SetGroup(string path, uint gid) =>
            LchownNative(path, uint.MaxValue, gid) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }
}
