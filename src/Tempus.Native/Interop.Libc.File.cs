using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Libc
    {
        private const int O_RDONLY = 0;
        private const int O_DIRECTORY = 0x10000;
        private const int O_CLOEXEC = 0x80000;

        [LibraryImport(Libraries.Libc, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int OpenNative(string path, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "fsync", SetLastError = true)]
        private static partial int FsyncNative(int fd);

        [LibraryImport(Libraries.Libc, EntryPoint = "close")]
        private static partial int CloseNative(int fd);

        /// <summary>
        /// fsync(2) on a directory, which .NET cannot open: makes a rename inside it durable. Returns 0 or errno.
        /// </summary>
        internal static int FsyncDirectory(string path)
        {
            int fd = OpenNative(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
            {
                return Marshal.GetLastPInvokeError();
            }

            int result = FsyncNative(fd) == 0 ? 0 : Marshal.GetLastPInvokeError();

            // A read-only descriptor has nothing to flush on close; its result adds nothing to fsync's.
            _ = CloseNative(fd);
            return result;
        }
    }
}
