using Tempus.Native;

namespace Tempus.Auth;

/// <summary>
/// H(key || data) for the RFC 5905 §7.3 digests (MD5, SHA-1, SHA-2) through OpenSSL 3 directly. .NET's one-shot
/// <c>SHA1.HashData</c> creates an EVP_MD_CTX, initialises it from the legacy EVP_sha1() table (which makes
/// OpenSSL 3 fetch the implementation from its provider again) and frees it, on every call: most of the time of a
/// SHA-1 MAC'd request. Here each digest is fetched once per process, and each thread keeps one initialised context
/// per digest, reused by every key. The key lives in a context only during a call: after each digest the
/// context is initialised again, which clears the provider's state (see
/// <see cref="Interop.Crypto.EvpDigestTwoParts"/>).
/// </summary>
internal static class KeyedDigest
{
    private const int DigestCount = (int)MacAlgorithm.Sha512 + 1;

    /// <summary>The longest hash written, SHA-512's.</summary>
    public const int MaxHashLength = Interop.Crypto.EvpMaxMdSize;

    // Fetched EVP_MDs, one reference each held for the life of the process (never freed: contexts point at them).
    private static readonly nint[] s_digests = new nint[DigestCount];

    // Freed by their SafeHandle finalizers when the thread ends.
    [ThreadStatic]
    private static SafeEvpMdCtxHandle?[]? t_contexts;

    /// <summary>Writes H(<paramref name="key"/> || <paramref name="data"/>) into <paramref name="hash"/> and returns its length.</summary>
    /// <param name="algorithm">One of the digest algorithms, <see cref="MacAlgorithm.Md5"/> to <see cref="MacAlgorithm.Sha512"/>.</param>
    /// <param name="key">The secret, hashed first.</param>
    /// <param name="data">The bytes hashed after the secret.</param>
    /// <param name="hash">Receives the hash; at least <see cref="MaxHashLength"/> bytes.</param>
    /// <exception cref="System.Security.Cryptography.CryptographicException">OpenSSL does not offer the digest (MD5 under FIPS) or failed.</exception>
    public static int Compute(MacAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> hash)
    {
        if ((uint)algorithm >= DigestCount)
        {
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not a key || data digest algorithm");
        }

        SafeEvpMdCtxHandle?[] contexts = t_contexts ??= new SafeEvpMdCtxHandle?[DigestCount];
        SafeEvpMdCtxHandle? ctx = contexts[(int)algorithm];
        if (ctx is null || ctx.IsClosed)
        {
            // A context that failed was freed by EvpDigestTwoParts: start over with a new one.
            ctx = contexts[(int)algorithm] = Interop.Crypto.EvpMdCtxCreate(Digest(algorithm));
        }

        return Interop.Crypto.EvpDigestTwoParts(ctx, key, data, hash);
    }

    private static nint Digest(MacAlgorithm algorithm)
    {
        nint md = Volatile.Read(ref s_digests[(int)algorithm]);
        if (md != 0)
        {
            return md;
        }

        nint fetched = Interop.Crypto.EvpMdFetch(algorithm switch
        {
            MacAlgorithm.Md5 => "MD5",
            MacAlgorithm.Sha1 => "SHA1",
            MacAlgorithm.Sha256 => "SHA256",
            MacAlgorithm.Sha384 => "SHA384",
            _ => "SHA512",
        });
        nint winner = Interlocked.CompareExchange(ref s_digests[(int)algorithm], fetched, 0);
        if (winner != 0)
        {
            // Another thread fetched it first: drop this reference, use theirs.
            Interop.Crypto.EvpMdFree(fetched);
            return winner;
        }

        return fetched;
    }
}
