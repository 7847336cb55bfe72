using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Tempus.Native.Tests;

/// <summary>
/// The memfd and SCM_RIGHTS interop that hands journald an entry too large for a datagram, as sd_journal_sendv does:
/// a sealed memfd, its descriptor sent in an empty datagram, received here through a real AF_UNIX socket.
/// </summary>
public sealed class LibcMemfdTests : IDisposable
{
    private const int JournalSeals = Interop.Libc.F_SEAL_SHRINK | Interop.Libc.F_SEAL_GROW | Interop.Libc.F_SEAL_WRITE | Interop.Libc.F_SEAL_SEAL;

    private readonly string _dir = Directory.CreateTempSubdirectory("tempus-memfd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ASealedMemfdKeepsItsContentAndRefusesWritesResizingAndMoreSeals()
    {
        using SafeFileHandle memfd = Create();
        byte[] content = "MESSAGE=sealed\n"u8.ToArray();
        RandomAccess.Write(memfd, content, 0);
        Assert.Equal(0, Interop.Libc.GetSeals(memfd, out int before));
        Assert.Equal(0, before);

        Assert.Equal(0, Interop.Libc.AddSeals(memfd, JournalSeals));
        Assert.Equal(0, Interop.Libc.GetSeals(memfd, out int seals));
        Assert.Equal(JournalSeals, seals);

        Assert.Equal(content, ReadAll(memfd));

        // EPERM, which .NET reports as UnauthorizedAccessException.
        Assert.Throws<UnauthorizedAccessException>(() => RandomAccess.Write(memfd, "x"u8, 0));
        Assert.Throws<UnauthorizedAccessException>(() => RandomAccess.SetLength(memfd, 1));
        Assert.Throws<UnauthorizedAccessException>(() => RandomAccess.SetLength(memfd, 4096));
        Assert.Equal(Interop.Libc.EPERM, Interop.Libc.AddSeals(memfd, Interop.Libc.F_SEAL_WRITE));
        Assert.Equal(content, ReadAll(memfd));
    }

    [Fact]
    public void AMemfdSentInAnEmptyDatagramArrivesAsADescriptorOfTheSameSealedFile()
    {
        string path = Path.Combine(_dir, "socket");
        using var receiver = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        receiver.Bind(new UnixDomainSocketEndPoint(path));
        using var sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        SocketAddress address = new UnixDomainSocketEndPoint(path).Serialize();

        byte[] content = new byte[300 * 1024];
        new Random(7).NextBytes(content);
        using (SafeFileHandle memfd = Create())
        {
            RandomAccess.Write(memfd, content, 0);
            Assert.Equal(0, Interop.Libc.AddSeals(memfd, JournalSeals));
            Assert.Equal(0, Interop.Libc.SendFileDescriptor(sender.SafeHandle, address.Buffer.Span[..address.Size], memfd));
        }

        // The sender's descriptor is closed: what arrives is a descriptor of its own.
        byte[] buffer = new byte[16];
        Assert.Equal(0, Interop.Libc.ReceiveWithFileDescriptor(receiver.SafeHandle, buffer, out int received, out SafeFileHandle? fd, out int descriptors, out bool truncated));
        Assert.Equal(0, received);
        Assert.Equal(1, descriptors);
        Assert.False(truncated);
        Assert.NotNull(fd);
        using (fd)
        {
            Assert.StartsWith("/memfd:tempus-test", LinkOf(fd));
            Assert.Equal(0, Interop.Libc.GetSeals(fd, out int seals));
            Assert.Equal(JournalSeals, seals);
            Assert.Equal(content, ReadAll(fd));
        }
    }

    [Fact]
    public void ADatagramWithoutADescriptorArrivesWithNone()
    {
        string path = Path.Combine(_dir, "socket");
        using var receiver = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        receiver.Bind(new UnixDomainSocketEndPoint(path));
        using var sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        sender.SendTo("MESSAGE=plain\n"u8, new UnixDomainSocketEndPoint(path));

        byte[] buffer = new byte[64];
        Assert.Equal(0, Interop.Libc.ReceiveWithFileDescriptor(receiver.SafeHandle, buffer, out int received, out SafeFileHandle? fd, out int descriptors, out bool truncated));
        Assert.Equal("MESSAGE=plain\n"u8.ToArray(), buffer[..received]);
        Assert.Null(fd);
        Assert.Equal(0, descriptors);
        Assert.False(truncated);
    }

    [Fact]
    public void SendingADescriptorWhereNothingIsBoundFailsWithEnoent()
    {
        using var sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        SocketAddress address = new UnixDomainSocketEndPoint(Path.Combine(_dir, "nobody")).Serialize();
        using SafeFileHandle memfd = Create();
        Assert.Equal(Interop.Libc.ENOENT, Interop.Libc.SendFileDescriptor(sender.SafeHandle, address.Buffer.Span[..address.Size], memfd));
    }

    private static SafeFileHandle Create()
    {
        SafeFileHandle? memfd = Interop.Libc.CreateSealableMemfd("tempus-test", out int errno);
        Assert.True(memfd is not null, $"memfd_create failed with errno {errno}");
        return memfd;
    }

    private static byte[] ReadAll(SafeFileHandle fd)
    {
        byte[] bytes = new byte[RandomAccess.GetLength(fd)];
        int total = 0;
        while (total < bytes.Length)
        {
            int n = RandomAccess.Read(fd, bytes.AsSpan(total), total);
            Assert.True(n > 0, $"short read at {total} of {bytes.Length}");
            total += n;
        }

        return bytes;
    }

    private static string LinkOf(SafeFileHandle fd) =>
        new FileInfo($"/proc/self/fd/{fd.DangerousGetHandle()}").LinkTarget ?? "";
}
