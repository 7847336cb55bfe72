using System.Runtime.InteropServices;

namespace Tempus.Native.Tests;

/// <summary>STYLE rule 23: the struct statx mirror matches &lt;linux/stat.h&gt;, and reads real files correctly.</summary>
public sealed class StatxLayoutTests
{
    [Fact]
    public void StatxMirrorMatchesTheKernelLayout()
    {
        // <linux/stat.h>: stx_mask 0, stx_blksize 4, stx_attributes 8, stx_nlink 16, stx_uid 20, stx_gid 24,
        // stx_mode 28 (u16, then 2 bytes spare), stx_ino 32; the whole struct is 0x100 bytes.
        Assert.Equal(256, Marshal.SizeOf<Interop.Libc.Statx>());
        Assert.Equal(20, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxUid)));
        Assert.Equal(24, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxGid)));
        Assert.Equal(28, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxMode)));
        Assert.Equal(32, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxIno)));
        // After stx_size, stx_blocks, stx_attributes_mask and four 16-byte timestamps: stx_rdev_major 128,
        // stx_rdev_minor 132, stx_dev_major 136, stx_dev_minor 140.
        Assert.Equal(128, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxRdevMajor)));
        Assert.Equal(132, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxRdevMinor)));
        Assert.Equal(136, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxDevMajor)));
        Assert.Equal(140, (int)Marshal.OffsetOf<Interop.Libc.Statx>(nameof(Interop.Libc.Statx.StxDevMinor)));
    }

    [Fact]
    public void OwnershipOfAFileIsTheCallersWithItsModeAndType()
    {
        string dir = Directory.CreateTempSubdirectory("tempus-statx-").FullName;
        try
        {
            string file = Path.Combine(dir, "f");
            File.WriteAllText(file, "x");
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);

            Assert.Equal(0, Interop.Libc.GetOwnership(file, out uint uid, out _, out int mode));
            Assert.Equal(Interop.Libc.GetEffectiveUserId(), uid);
            Assert.Equal(Interop.Libc.S_IFREG, mode & Interop.Libc.S_IFMT);
            Assert.Equal(0b110_100_000, mode & 0x1FF);

            Assert.Equal(0, Interop.Libc.GetOwnership(dir, out _, out _, out int dirMode));
            Assert.Equal(Interop.Libc.S_IFDIR, dirMode & Interop.Libc.S_IFMT);
            Assert.Equal(2, Interop.Libc.GetOwnership(Path.Combine(dir, "missing"), out _, out _, out _)); // ENOENT
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
