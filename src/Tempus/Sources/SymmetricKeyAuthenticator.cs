using Tempus.Auth;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>
/// Symmetric-key NTP (RFC 5905 §7.3, RFC 8573): requests carry a MAC with the source's key, and a response counts only
/// if it carries a MAC with the same key id that verifies. A crypto-NAK is a failure, not an answer.
/// </summary>
public sealed class SymmetricKeyAuthenticator : IRequestAuthenticator
{
    /// <summary>Creates the authenticator for one source.</summary>
    /// <param name="key">The key named by the source's <c>key</c> option.</param>
    public SymmetricKeyAuthenticator(SymmetricKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Key = key;
    }

    /// <summary>The key requests are signed with and responses checked against.</summary>
    public SymmetricKey Key { get; }

    /// <inheritdoc/>
    public SourceAuthentication Kind => SourceAuthentication.SymmetricKey;

    /// <inheritdoc/>
    public bool CanSend => true;

    /// <inheritdoc/>
    public int WriteRequest(Span<byte> destination, in NtpPacketHeader header)
    {
        if (destination.Length < NtpPacketHeader.Size + Key.MacLength)
        {
            throw new ArgumentException($"a request with key {Key.Id} needs {NtpPacketHeader.Size + Key.MacLength} bytes, the buffer has {destination.Length}", nameof(destination));
        }

        header.TryWrite(destination, out int length);
        return length + Key.WriteMac(destination[..length], destination[length..]);
    }

    /// <inheritdoc/>
    public bool Verify(ReadOnlySpan<byte> response, out NtpPacketHeader header, out string? failure)
    {
        header = default;
        if (NtpPacketLayout.TryParse(response, out NtpPacketLayout layout) != NtpParseStatus.Ok)
        {
            failure = "malformed NTP packet";
            return false;
        }

        if (layout.IsCryptoNak)
        {
            failure = $"crypto-NAK: the server does not accept key {Key.Id}";
            return false;
        }

        if (!layout.HasMac)
        {
            failure = $"response without a MAC (does the server have key {Key.Id}?)";
            return false;
        }

        if (layout.MacKeyId != Key.Id)
        {
            failure = $"response signed with key {layout.MacKeyId}, not key {Key.Id}";
            return false;
        }

        if (!Key.VerifyDigest(layout.AuthenticatedData, layout.MacDigest))
        {
            failure = $"the MAC does not verify with key {Key.Id}: the keys differ or the packet was altered";
            return false;
        }

        header = layout.Header;
        failure = null;
        return true;
    }
}
