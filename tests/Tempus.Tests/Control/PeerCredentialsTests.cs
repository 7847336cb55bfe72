using System.Net.Sockets;
using Tempus.Control;

namespace Tempus.Tests.Control;

/// <summary>SO_PEERCRED read through Socket.GetRawSocketOption, against a real connection.</summary>
public sealed class PeerCredentialsTests
{
    [Fact]
    public void UcredIsPidUidGidInHostOrder()
    {
        byte[] ucred = [.. BitConverter.GetBytes(4242), .. BitConverter.GetBytes(1000u), .. BitConverter.GetBytes(100u)];

        Assert.Equal(new PeerCredentials(4242, 1000, 100), PeerCredentials.Parse(ucred));
    }

    [Fact]
    public async Task AcceptedConnectionNamesTheConnectingProcess()
    {
        string dir = Directory.CreateTempSubdirectory("tempus-peercred-").FullName;
        try
        {
            string path = Path.Combine(dir, "s");
            using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen();
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
            using Socket accepted = await listener.AcceptAsync();

            PeerCredentials peer = PeerCredentials.Read(accepted);

            Assert.Equal(Environment.ProcessId, peer.ProcessId);
            Assert.Equal(Interop.Libc.GetEffectiveUserId(), peer.UserId);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
