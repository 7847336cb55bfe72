using System.Buffers.Binary;
using System.Security.Cryptography;
using Tempus.Crypto;

namespace Tempus.Auth;

/// <summary>
/// One NTP symmetric key: its id, algorithm and secret, and the MAC operations of RFC 5905 §7.3
/// and RFC 8573. Thread-safe; no operation allocates once the calling thread has computed one digest of the
/// algorithm (MD5 and SHA digests keep one OpenSSL context per thread and digest).
/// </summary>
public sealed class SymmetricKey : IDisposable
{
    private readonly byte[] _key;
    private readonly AesCmac? _cmac;
    private volatile bool _disposed;

    /// <summary>Creates a key; the secret is copied.</summary>
    /// <param name="id">The key id carried in the MAC (RFC 5905: 32 bits; 0 means no key and is refused).</param>
    /// <param name="algorithm">The MAC algorithm.</param>
    /// <param name="key">The secret: 16 bytes for AES-128-CMAC, 32 for AES-256-CMAC, at least one byte for digests.</param>
    /// <param name="origin">Where the key was defined, for messages, e.g. "/etc/chrony.keys:3".</param>
    /// <exception cref="ArgumentException">The key length does not suit the algorithm, or the id is 0.</exception>
    public SymmetricKey(uint id, MacAlgorithm algorithm, ReadOnlySpan<byte> key, string origin)
    {
        ArgumentNullException.ThrowIfNull(origin);
        if (id == 0)
        {
            throw new ArgumentException("key id 0 is reserved: RFC 5905 uses it for unauthenticated packets and crypto-NAKs", nameof(id));
        }

        int required = MacAlgorithms.RequiredKeyLength(algorithm);
        if (required != 0 && key.Length != required)
        {
            throw new ArgumentException($"{MacAlgorithms.ChronyName(algorithm)} needs a {required * 8}-bit key, got {key.Length * 8} bits", nameof(key));
        }

        if (key.IsEmpty)
        {
            throw new ArgumentException("the key is empty", nameof(key));
        }

        Id = id;
        Algorithm = algorithm;
        Origin = origin;
        DigestLength = MacAlgorithms.DigestLength(algorithm);
        KeyLengthBits = key.Length * 8;
        if (required != 0)
        {
            _key = [];
            _cmac = new AesCmac(key);
        }
        else
        {
            // Pinned so the GC never leaves stray copies of the secret behind when compacting.
            _key = GC.AllocateArray<byte>(key.Length, pinned: true);
            key.CopyTo(_key);
        }
    }

    /// <summary>The key id carried in the first 4 bytes of the MAC.</summary>
    public uint Id { get; }

    /// <summary>The MAC algorithm.</summary>
    public MacAlgorithm Algorithm { get; }

    /// <summary>The secret's length in bits.</summary>
    public int KeyLengthBits { get; }

    /// <summary>Where the key was defined, for messages, e.g. "/etc/chrony.keys:3".</summary>
    public string Origin { get; }

    /// <summary>The digest length on the wire, in bytes (see <see cref="MacAlgorithms.DigestLength"/>).</summary>
    public int DigestLength { get; }

    /// <summary>The length of the whole MAC this key writes: 4-byte key id plus <see cref="DigestLength"/>.</summary>
    public int MacLength => 4 + DigestLength;

    /// <summary>
    /// Computes the digest over the authenticated part of a packet (header and extension fields):
    /// H(key || data) truncated to <see cref="DigestLength"/> bytes for MD5 and SHA (RFC 5905 §7.3),
    /// AES-CMAC(key, data) for AES (RFC 8573 §4).
    /// </summary>
    /// <param name="authenticatedData">The bytes the MAC covers.</param>
    /// <param name="digest">Receives the digest; at least <see cref="DigestLength"/> bytes.</param>
    /// <returns>The number of bytes written, <see cref="DigestLength"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="digest"/> is too short.</exception>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    /// <exception cref="CryptographicException">OpenSSL does not offer the digest (MD5 under a FIPS-only configuration).</exception>
    public int ComputeDigest(ReadOnlySpan<byte> authenticatedData, Span<byte> digest)
    {
        if (digest.Length < DigestLength)
        {
            throw new ArgumentException($"the digest buffer must hold {DigestLength} bytes, it has {digest.Length}", nameof(digest));
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_cmac is not null)
        {
            _cmac.Compute(authenticatedData, digest);
            return DigestLength;
        }

        // MD5 and SHA-1 are what RFC 5905 peers use; KeyFile warns about MD5 (RFC 8573). The hash of key || data
        // is computed in two parts, so the secret is never copied; KeyedDigest leaves no trace of it in OpenSSL.
        Span<byte> hash = stackalloc byte[KeyedDigest.MaxHashLength];
        try
        {
            int hashLength = KeyedDigest.Compute(Algorithm, _key, authenticatedData, hash);

            // RFC 5905 §7.3 / NTPv4 practice: longer digests are truncated to 20 bytes on the wire.
            hash[..Math.Min(hashLength, DigestLength)].CopyTo(digest);
            return DigestLength;
        }
        finally
        {
            // The untruncated rest of a SHA-2 hash is MAC material the wire never carries.
            CryptographicOperations.ZeroMemory(hash);
        }
    }

    /// <summary>
    /// Checks a received digest in constant time. Returns <see langword="false"/> when it does not
    /// match or is not exactly <see cref="DigestLength"/> bytes long.
    /// </summary>
    /// <param name="authenticatedData">The bytes the MAC covers.</param>
    /// <param name="digest">The received digest (the MAC without its key id).</param>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    public bool VerifyDigest(ReadOnlySpan<byte> authenticatedData, ReadOnlySpan<byte> digest)
    {
        if (digest.Length != DigestLength)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[20];
        int length = ComputeDigest(authenticatedData, expected);
        return CryptographicOperations.FixedTimeEquals(expected[..length], digest);
    }

    /// <summary>Writes the MAC: key id (big-endian u32) then the digest over <paramref name="authenticatedData"/>.</summary>
    /// <param name="authenticatedData">The bytes the MAC covers.</param>
    /// <param name="destination">Receives the MAC; at least <see cref="MacLength"/> bytes.</param>
    /// <returns>The number of bytes written, <see cref="MacLength"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    /// <exception cref="ObjectDisposedException">The key was disposed.</exception>
    public int WriteMac(ReadOnlySpan<byte> authenticatedData, Span<byte> destination)
    {
        if (!TryWriteMac(authenticatedData, destination, out int written))
        {
            throw new ArgumentException($"the MAC needs {MacLength} bytes, the destination has {destination.Length}", nameof(destination));
        }

        return written;
    }

    /// <summary>Like <see cref="WriteMac"/>, but returns <see langword="false"/> when <paramref name="destination"/> is too short.</summary>
    /// <param name="authenticatedData">The bytes the MAC covers.</param>
    /// <param name="destination">Receives the MAC.</param>
    /// <param name="written">The number of bytes written, <see cref="MacLength"/>, or 0.</param>
    public bool TryWriteMac(ReadOnlySpan<byte> authenticatedData, Span<byte> destination, out int written)
    {
        if (destination.Length < MacLength)
        {
            written = 0;
            return false;
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, Id);
        written = 4 + ComputeDigest(authenticatedData, destination[4..]);
        return true;
    }

    /// <summary>Whether <see cref="Dispose"/> wiped the secret (a key ring retired by a reload).</summary>
    public bool IsDisposed => _disposed;

    /// <summary>Wipes the secret. Calls after disposal throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_key);
        _cmac?.Dispose();
    }

    /// <summary>A description without the secret: "key 5 (AES128, 128 bits) from /etc/chrony.keys:3".</summary>
    public override string ToString() => $"key {Id} ({MacAlgorithms.ChronyName(Algorithm)}, {KeyLengthBits} bits) from {Origin}";
}
