using System.Buffers.Binary;
using System.Net.Sockets;

namespace Tempus.Control;

/// <summary>Who is on the other end of a Unix socket: the kernel's <c>SO_PEERCRED</c> (<c>struct ucred</c>).</summary>
/// <param name="ProcessId">The peer's pid at connect time.</param>
/// <param name="UserId">The peer's effective uid at connect time.</param>
/// <param name="GroupId">The peer's effective gid at connect time.</param>
public readonly record struct PeerCredentials(int ProcessId, uint UserId, uint GroupId)
{
    // <sys/socket.h> on Linux: SOL_SOCKET 1, SO_PEERCRED 17; struct ucred { pid_t pid; uid_t uid; gid_t gid; } is 12 bytes.
    private const int SOL_SOCKET = 1;
    private const int SO_PEERCRED = 17;
    internal const int UcredSize = 12;

    /// <summary>Reads the peer's credentials of a connected Unix stream socket.</summary>
    /// <param name="socket">An accepted connection.</param>
    public static PeerCredentials Read(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> ucred = stackalloc byte[UcredSize];
        int length = socket.GetRawSocketOption(SOL_SOCKET, SO_PEERCRED, ucred);
        if (length != UcredSize)
        {
            throw new SocketException((int)SocketError.ProtocolNotSupported);
        }

        return Parse(ucred);
    }

    /// <summary>Decodes a <c>struct ucred</c> in host byte order.</summary>
    /// <param name="ucred">Twelve bytes: pid, uid, gid.</param>
    internal static PeerCredentials Parse(ReadOnlySpan<byte> ucred) => BitConverter.IsLittleEndian
        ? new(BinaryPrimitives.ReadInt32LittleEndian(ucred), BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]), BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]))
        : new(BinaryPrimitives.ReadInt32BigEndian(ucred), BinaryPrimitives.ReadUInt32BigEndian(ucred[4..]), BinaryPrimitives.ReadUInt32BigEndian(ucred[8..]));
}

/// <summary>Who may run which control command.</summary>
public static class ControlAuthorization
{
    /// <summary>
    /// Monitoring commands: anyone who can connect (the socket's mode and directory decide who can).
    /// Changing commands: only root and the daemon's own user, whatever the socket's mode.
    /// </summary>
    /// <param name="command">The command name.</param>
    /// <param name="peerUid">The peer's uid from <c>SO_PEERCRED</c>.</param>
    /// <param name="daemonUid">The daemon's effective uid.</param>
    public static bool IsAllowed(string command, uint peerUid, uint daemonUid) => IsAllowed(command, null, peerUid, daemonUid);

    /// <summary><see cref="IsAllowed(string, uint, uint)"/> for a request whose arguments can make it a changing one (<c>clients -r</c>).</summary>
    /// <param name="command">The command name.</param>
    /// <param name="args">The request's arguments, or null.</param>
    /// <param name="peerUid">The peer's uid from <c>SO_PEERCRED</c>.</param>
    /// <param name="daemonUid">The daemon's effective uid.</param>
    public static bool IsAllowed(string command, ControlRequestArgs? args, uint peerUid, uint daemonUid) =>
        !ControlProtocol.IsPrivileged(command, args) || peerUid == 0 || peerUid == daemonUid;
}
