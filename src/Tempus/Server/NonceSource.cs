using System.Security.Cryptography;

namespace Tempus.Server;

/// <summary>
/// Random nonces for the NTS server path, drawn from a per-thread pool that <see cref="RandomNumberGenerator.Fill"/>
/// refills a few KiB at a time, so the NTP response nonce and the nonces of the cookies it carries cost a copy each
/// instead of a trip through OpenSSL's DRBG (whose per-call locking and provider dispatch in OpenSSL 3 cost more
/// than the 16 bytes themselves).
/// </summary>
/// <remarks>
/// <para>
/// As strong as calling the system CSPRNG for each nonce: every byte comes from the same
/// <see cref="RandomNumberGenerator"/> (OpenSSL's DRBG, seeded by the kernel), only fetched in larger blocks; each
/// byte is handed out once and zeroed in the pool as it is, and the pool is overwritten whole by the next refill,
/// so no byte is ever given twice, to one caller or two. The nonces are public (they travel in the clear in the
/// response and in the cookie), and both NTS AEADs (AES-SIV, AES-GCM-SIV) resist nonce misuse anyway (RFC 8915 §6,
/// RFC 8452); what matters is that they do not repeat, which the DRBG guarantees whatever the block size. The pool
/// lives on the pinned object heap so the GC never copies not-yet-used bytes elsewhere. .NET never runs managed code
/// in a forked child, so no two processes can share a pool.
/// </para>
/// <para>
/// Not thread-safe by design: <see cref="Current"/> is the calling thread's own pool (each server worker has its
/// own thread), so drawing from it takes no lock and no interlocked operation.
/// </para>
/// </remarks>
internal sealed class NonceSource
{
    /// <summary>The pool size: 256 AES-SIV nonces between refills.</summary>
    internal const int PoolSize = 4096;

    [ThreadStatic]
    private static NonceSource? t_current;

    private readonly byte[] _pool = GC.AllocateUninitializedArray<byte>(PoolSize, pinned: true);

    // The next unused byte; PoolSize when the pool is spent (and at first, so the first draw fills it).
    private int _position = PoolSize;

    /// <summary>The calling thread's pool; created on the thread's first use.</summary>
    public static NonceSource Current => t_current ?? CreateForThread();

    /// <summary>How many refills this pool has made (tests).</summary>
    internal int Refills { get; private set; }

    /// <summary>The bytes of the pool handed out since its last refill (tests: they must all be zero).</summary>
    internal ReadOnlySpan<byte> HandedOut => _pool.AsSpan(0, _position == PoolSize && Refills == 0 ? 0 : _position);

    /// <summary>The bytes of the pool not yet handed out (tests).</summary>
    internal ReadOnlySpan<byte> Unused => Refills == 0 ? default : _pool.AsSpan(_position);

    /// <summary>Fills <paramref name="destination"/> with random bytes no one else has been or will be given.</summary>
    /// <param name="destination">Where the bytes go; more than half the pool is filled straight from the CSPRNG.</param>
    public void Fill(Span<byte> destination)
    {
        if (destination.Length > PoolSize / 2)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }

        if (destination.Length > PoolSize - _position)
        {
            // The few bytes left are overwritten, never handed out.
            RandomNumberGenerator.Fill(_pool);
            _position = 0;
            Refills++;
        }

        Span<byte> taken = _pool.AsSpan(_position, destination.Length);
        taken.CopyTo(destination);
        taken.Clear();
        _position += destination.Length;
    }

    private static NonceSource CreateForThread() => t_current = new NonceSource();
}
