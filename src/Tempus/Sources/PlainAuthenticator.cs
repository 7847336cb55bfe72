using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>Unauthenticated NTP: requests carry the header only and any well-formed response passes.</summary>
public sealed class PlainAuthenticator : IRequestAuthenticator
{
    /// <inheritdoc/>
    public SourceAuthentication Kind => SourceAuthentication.None;

    /// <inheritdoc/>
    public bool CanSend => true;

    /// <inheritdoc/>
    public int WriteRequest(Span<byte> destination, in NtpPacketHeader header)
    {
        if (!header.TryWrite(destination, out int written))
        {
            throw new ArgumentException($"an NTP request needs {NtpPacketHeader.Size} bytes, the buffer has {destination.Length}", nameof(destination));
        }

        return written;
    }

    /// <inheritdoc/>
    public bool Verify(ReadOnlySpan<byte> response, out NtpPacketHeader header, out string? failure)
    {
        NtpParseStatus status = NtpPacketHeader.TryRead(response, out header);
        if (status != NtpParseStatus.Ok)
        {
            failure = "malformed NTP header";
            return false;
        }

        failure = null;
        return true;
    }
}
