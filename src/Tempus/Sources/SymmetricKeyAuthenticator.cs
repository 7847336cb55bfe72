using Tempus.Auth;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>
/// Symmetric-key NTP (RFC 5905 §7.3, RFC 8573): requests carry a MAC with the source's key, and a response counts only
/// if it carries a MAC with the same key id that verifies. A crypto-NAK is a failure, not an answer.
/// </summary>
/// <remarks>
/// <para>
/// The key can be replaced while the source runs (<see cref="ReplaceKey"/>: the key file was reloaded, as
/// <c>chronyc rekey</c> makes chronyd re-read its keyfile). The next request is signed with the new key; a response to
/// a request sent before the swap is checked with the key that request was signed with, as the server signs its
/// answer with the key it verified the request with.
/// </para>
/// <para>
/// When the key id is gone from the reloaded file (or no longer trusted), the source does not fall back to
/// unauthenticated requests: <see cref="CanSend"/> turns false, every due poll is a missed poll (the source becomes
/// unreachable and stops steering), and a response still in flight is rejected, since the key it would be checked with
/// has been withdrawn. The source resumes with the next poll once a reload brings the key back.
/// </para>
/// </remarks>
public sealed class SymmetricKeyAuthenticator : IRequestAuthenticator
{
    private SymmetricKey _key;
    private SymmetricKey? _sentWith;
    private string? _keyProblem;

    /// <summary>Creates the authenticator for one source.</summary>
    /// <param name="key">The key named by the source's <c>key</c> option.</param>
    public SymmetricKeyAuthenticator(SymmetricKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _key = key;
        KeyId = key.Id;
    }

    /// <summary>The key id of the source's <c>key</c> option; it never changes.</summary>
    public uint KeyId { get; }

    /// <summary>
    /// The key requests are signed with and responses checked against; while <see cref="IsKeyMissing"/>, the last key
    /// the source had (it signs nothing).
    /// </summary>
    public SymmetricKey Key => _key;

    /// <summary>Whether the key id is no longer in the key file (or no longer trusted): nothing is sent until it is back.</summary>
    public bool IsKeyMissing => _keyProblem is not null;

    /// <summary>Why the source cannot sign its requests (the key id and the key file), or null when it can.</summary>
    public string? KeyProblem => _keyProblem;

    /// <inheritdoc/>
    public SourceAuthentication Kind => SourceAuthentication.SymmetricKey;

    /// <inheritdoc/>
    public bool CanSend => _keyProblem is null;

    /// <summary>
    /// Uses <paramref name="key"/> from the next request on (a reloaded key file). A request already sent keeps being
    /// checked with the key it was signed with.
    /// </summary>
    /// <param name="key">The key with id <see cref="KeyId"/> from the reloaded file.</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> has another id.</exception>
    public void ReplaceKey(SymmetricKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Id != KeyId)
        {
            throw new ArgumentException($"the source uses key {KeyId}, not key {key.Id}", nameof(key));
        }

        _key = key;
        _keyProblem = null;
    }

    /// <summary>
    /// The key id is gone from the reloaded key file (or no longer trusted): nothing is sent, and a response to a
    /// request already sent is rejected, until <see cref="ReplaceKey"/> brings a key back.
    /// </summary>
    /// <param name="problem">Why, naming the key id and the key file; shown by <c>authdata -v</c> and the audit.</param>
    public void RemoveKey(string problem)
    {
        ArgumentException.ThrowIfNullOrEmpty(problem);
        _keyProblem = problem;
        _sentWith = null;
    }

    /// <inheritdoc/>
    public int WriteRequest(Span<byte> destination, in NtpPacketHeader header)
    {
        if (_keyProblem is not null)
        {
            throw new InvalidOperationException($"no request can be signed: {_keyProblem}");
        }

        SymmetricKey key = _key;
        if (destination.Length < NtpPacketHeader.Size + key.MacLength)
        {
            throw new ArgumentException($"a request with key {key.Id} needs {NtpPacketHeader.Size + key.MacLength} bytes, the buffer has {destination.Length}", nameof(destination));
        }

        header.TryWrite(destination, out int length);
        int written = length + key.WriteMac(destination[..length], destination[length..]);
        _sentWith = key;
        return written;
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

        // The key the outstanding request was signed with: a key swapped since then applies from the next request.
        if ((_sentWith ?? (_keyProblem is null ? _key : null)) is not { } key)
        {
            failure = $"response to a request signed before key {KeyId} was withdrawn: {_keyProblem}";
            return false;
        }

        if (key.IsDisposed)
        {
            // The request was signed with a key from a key file reloaded since, whose ring has been retired and wiped.
            failure = $"response to a request signed with key {KeyId} from before a key file reload, too late to check";
            return false;
        }

        if (layout.IsCryptoNak)
        {
            failure = $"crypto-NAK: the server does not accept key {key.Id}";
            return false;
        }

        if (!layout.HasMac)
        {
            failure = $"response without a MAC (does the server have key {key.Id}?)";
            return false;
        }

        if (layout.MacKeyId != key.Id)
        {
            failure = $"response signed with key {layout.MacKeyId}, not key {key.Id}";
            return false;
        }

        if (!key.VerifyDigest(layout.AuthenticatedData, layout.MacDigest))
        {
            failure = $"the MAC does not verify with key {key.Id}: the keys differ or the packet was altered";
            return false;
        }

        header = layout.Header;
        failure = null;
        return true;
    }
}
