using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Tempus.Protocol;

namespace Tempus.Crypto;

/// <summary>
/// One keyed NTS AEAD (RFC 8915 §5.6): AEAD_AES_SIV_CMAC_256/384/512 (RFC 5297, ids 15-17) or
/// AEAD_AES_128_GCM_SIV (RFC 8452, id 30), in the NTS calling convention: for AES-SIV the output is the
/// synthetic IV (the tag) followed by the ciphertext, and S2V runs over the vector (associated data, nonce,
/// plaintext) as RFC 5297 §3 prescribes for nonce-based use; for AES-GCM-SIV it is the ciphertext followed
/// by the tag, as RFC 8452 §4 defines it.
/// </summary>
/// <remarks>
/// <para>
/// The key schedule is expanded once, by <see cref="Create"/> or <see cref="SetKey"/>; <see cref="Seal"/>
/// and <see cref="TryOpen"/> allocate nothing. A server keeps one instance per thread and per algorithm and
/// re-keys it with <see cref="SetKey"/> for the C2S and S2C keys of each cookie, so a request costs no
/// allocation either.
/// </para>
/// <para>
/// Instances are not thread-safe: the OpenSSL contexts and scratch buffers behind them are reused by every
/// call. Concurrent calls on one instance are detected and throw <see cref="InvalidOperationException"/>
/// rather than corrupt each other's output, and a <see cref="Dispose()"/> racing a call frees nothing until
/// that call returns.
/// </para>
/// <para>
/// Errors follow NSec: a message that fails authentication makes <see cref="TryOpen"/> return
/// <see langword="false"/> and clear the plaintext buffer; so do a nonce of a length the algorithm cannot
/// take and a ciphertext shorter than the tag, since both arrive from the network. Caller mistakes (buffers
/// of the wrong length, overlapping buffers, a wrong key length, a nonce of the wrong length when sealing)
/// throw.
/// </para>
/// </remarks>
public abstract class NtsAead : IDisposable
{
    /// <summary>Length of the authentication tag of every NTS AEAD algorithm, in bytes.</summary>
    public const int TagSize = 16;

    // 1 while a call runs, and for good once DisposeCore has been claimed. Whoever claims it (Dispose, or
    // the Exit of a call that was still running when Dispose came) frees the native contexts, so they are
    // never freed under a running call and subclasses may pass their raw handles to OpenSSL.
    private int _busy;
    private int _disposed;

    // Only the algorithms in this assembly derive from NtsAead.
    private protected NtsAead()
    {
    }

    /// <summary>The IANA AEAD algorithm id this instance implements.</summary>
    public abstract NtsAeadAlgorithm Algorithm { get; }

    /// <summary>The key length in bytes: 32, 48 or 64 for AES-SIV-CMAC-256/384/512, 16 for AES-128-GCM-SIV.</summary>
    public virtual int KeyLength => GetKeyLength(Algorithm);

    /// <summary>
    /// The nonce length to generate, in bytes: 16 for AES-SIV (RFC 8915 §5.6 asks for at least 16 bytes
    /// of nonce room), 12 for AES-128-GCM-SIV (its only nonce length, RFC 8452 §6).
    /// </summary>
    public abstract int NonceLength { get; }

    /// <summary>The shortest nonce accepted: 1 byte for AES-SIV (RFC 5297 §6, N_MIN), 12 for AES-128-GCM-SIV.</summary>
    public abstract int MinNonceLength { get; }

    /// <summary>The longest nonce accepted: unbounded (<see cref="int.MaxValue"/>) for AES-SIV, 12 for AES-128-GCM-SIV.</summary>
    public abstract int MaxNonceLength { get; }

    /// <summary>The tag length in bytes, 16 for every NTS AEAD; the ciphertext is this much longer than the plaintext.</summary>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Read through an instance like KeyLength and NonceLength.")]
    public int TagLength => TagSize;

    /// <summary>
    /// Creates an instance for <paramref name="algorithm"/> keyed with <paramref name="key"/>.
    /// AES-128-GCM-SIV uses OpenSSL's own implementation when the loaded OpenSSL has one (3.2 and later)
    /// that passes a known-answer test with an empty plaintext at first use (which takes 3.5 or later),
    /// otherwise the managed one (POLYVAL in C# over OpenSSL's AES).
    /// </summary>
    /// <param name="algorithm">The negotiated AEAD algorithm.</param>
    /// <param name="key">The key, <see cref="GetKeyLength"/> bytes long; it is copied into the key schedule.</param>
    /// <returns>A new instance; dispose it to wipe the key schedule.</returns>
    /// <exception cref="ArgumentException">The key has the wrong length.</exception>
    /// <exception cref="NotSupportedException"><paramref name="algorithm"/> is not an NTS AEAD this library implements.</exception>
    /// <exception cref="PlatformNotSupportedException">OpenSSL 3 (libcrypto.so.3) is not available.</exception>
    public static NtsAead Create(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        int keyLength = GetKeyLength(algorithm);
        if (key.Length != keyLength)
        {
            throw new ArgumentException($"{algorithm} (AEAD {(ushort)algorithm}) needs a {keyLength}-byte key, got {key.Length} bytes", nameof(key));
        }

        return CreateCore(algorithm, key);
    }

    /// <summary>Whether <see cref="Create"/> can make <paramref name="algorithm"/> on this machine (it needs OpenSSL 3).</summary>
    /// <param name="algorithm">An AEAD algorithm id, possibly one received from a peer.</param>
    /// <returns><see langword="true"/> for ids 15, 16, 17 and 30 when libcrypto.so.3 loads.</returns>
    public static bool IsSupported(NtsAeadAlgorithm algorithm) =>
        algorithm is NtsAeadAlgorithm.AesSivCmac256 or NtsAeadAlgorithm.AesSivCmac384 or NtsAeadAlgorithm.AesSivCmac512 or NtsAeadAlgorithm.Aes128GcmSiv
        && Interop.Crypto.IsSupported;

    /// <summary>
    /// The key length of <paramref name="algorithm"/> in bytes, which is also how many bytes of C2S and S2C
    /// key NTS-KE exports for it (RFC 8915 §5.1).
    /// </summary>
    /// <param name="algorithm">One of the NTS AEAD algorithms.</param>
    /// <returns>32, 48, 64 or 16.</returns>
    /// <exception cref="NotSupportedException"><paramref name="algorithm"/> is not an NTS AEAD this library implements.</exception>
    public static int GetKeyLength(NtsAeadAlgorithm algorithm) => algorithm switch
    {
        NtsAeadAlgorithm.AesSivCmac256 => 32,
        NtsAeadAlgorithm.AesSivCmac384 => 48,
        NtsAeadAlgorithm.AesSivCmac512 => 64,
        NtsAeadAlgorithm.Aes128GcmSiv => 16,
        _ => throw new NotSupportedException($"AEAD algorithm {(ushort)algorithm} is not supported"),
    };

    /// <summary>
    /// Replaces the key, re-expanding the key schedule in place without allocating: how a server reuses one
    /// instance for the per-association keys it reads out of each cookie.
    /// </summary>
    /// <param name="key">The new key, <see cref="KeyLength"/> bytes long.</param>
    /// <exception cref="ArgumentException">The key has the wrong length.</exception>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the instance.</exception>
    public void SetKey(ReadOnlySpan<byte> key)
    {
        CheckKeyLength(key);
        Enter();
        try
        {
            SetKeyCore(key);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Encrypts and authenticates <paramref name="plaintext"/>.</summary>
    /// <param name="nonce">
    /// The nonce: <see cref="NonceLength"/> bytes in NTS, any length from <see cref="MinNonceLength"/> to
    /// <see cref="MaxNonceLength"/>. AES-128-GCM-SIV must never see the same nonce twice under one key with
    /// different messages; AES-SIV tolerates repeats but leaks equality of messages.
    /// </param>
    /// <param name="associatedData">Data authenticated but not encrypted; in NTS, the packet up to the authenticator field.</param>
    /// <param name="plaintext">The data to encrypt; in NTS, the encrypted extension fields (possibly none).</param>
    /// <param name="ciphertextWithTag">Receives exactly <c>plaintext.Length + 16</c> bytes; must not overlap any input.</param>
    /// <exception cref="ArgumentException">A length is wrong or the output overlaps an input.</exception>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the instance.</exception>
    public void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertextWithTag)
    {
        if (nonce.Length < MinNonceLength || nonce.Length > MaxNonceLength)
        {
            ThrowNonceLength(nonce.Length, nameof(nonce));
        }

        if (ciphertextWithTag.Length != plaintext.Length + TagSize)
        {
            throw new ArgumentException($"the output must be the plaintext length plus the {TagSize}-byte tag ({plaintext.Length + TagSize} bytes), it is {ciphertextWithTag.Length}", nameof(ciphertextWithTag));
        }

        CheckNoOverlap(ciphertextWithTag, nonce, associatedData, plaintext, nameof(ciphertextWithTag));
        Enter();
        try
        {
            SealCore(nonce, associatedData, plaintext, ciphertextWithTag);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Authenticates and decrypts <paramref name="ciphertextWithTag"/>. On failure the plaintext buffer is
    /// cleared, so a caller cannot act on unauthenticated bytes.
    /// </summary>
    /// <param name="nonce">The nonce the sender used; a length outside <see cref="MinNonceLength"/>..<see cref="MaxNonceLength"/> fails authentication.</param>
    /// <param name="associatedData">The associated data the sender authenticated.</param>
    /// <param name="ciphertextWithTag">The AEAD output; shorter than the tag fails authentication.</param>
    /// <param name="plaintext">Receives the plaintext: exactly <c>ciphertextWithTag.Length - 16</c> bytes (or empty when the ciphertext is shorter than the tag); must not overlap any input.</param>
    /// <returns><see langword="true"/> when the message is authentic; <see langword="false"/> otherwise.</returns>
    /// <exception cref="ArgumentException">The plaintext buffer has the wrong length or overlaps an input.</exception>
    /// <exception cref="ObjectDisposedException">The instance was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using the instance.</exception>
    public bool TryOpen(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag, Span<byte> plaintext)
    {
        if (ciphertextWithTag.Length < TagSize)
        {
            plaintext.Clear();
            return false;
        }

        if (plaintext.Length != ciphertextWithTag.Length - TagSize)
        {
            throw new ArgumentException($"the plaintext buffer must be the ciphertext length less the {TagSize}-byte tag ({ciphertextWithTag.Length - TagSize} bytes), it is {plaintext.Length}", nameof(plaintext));
        }

        CheckNoOverlap(plaintext, nonce, associatedData, ciphertextWithTag, nameof(plaintext));
        if (nonce.Length < MinNonceLength || nonce.Length > MaxNonceLength)
        {
            plaintext.Clear();
            return false;
        }

        bool authentic;
        Enter();
        try
        {
            authentic = TryOpenCore(nonce, associatedData, ciphertextWithTag, plaintext);
        }
        finally
        {
            Exit();
        }

        if (!authentic)
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        return authentic;
    }

    /// <summary>Frees the OpenSSL contexts (which wipes the key schedules) and clears every key-derived buffer.</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the key material; called once, by <see cref="Dispose()"/>.</summary>
    /// <param name="disposing">Always <see langword="true"/>: the native contexts are SafeHandles with their own finalizers.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // A call still running on another thread (a misuse Enter could not catch in time) frees
        // the contexts itself when it exits.
        if (Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
        {
            DisposeCore();
        }
    }

    /// <summary>Re-expands the key schedule; the length is checked.</summary>
    private protected abstract void SetKeyCore(ReadOnlySpan<byte> key);

    /// <summary>Seals; lengths and overlap are checked and the instance is held.</summary>
    private protected abstract void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertextWithTag);

    /// <summary>Opens; lengths and overlap are checked, the instance is held, and the caller clears the plaintext on failure.</summary>
    private protected abstract bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag, Span<byte> plaintext);

    /// <summary>Frees native contexts and wipes managed key material.</summary>
    private protected abstract void DisposeCore();

    /// <summary>Throws unless <paramref name="key"/> is <see cref="KeyLength"/> bytes.</summary>
    private protected void CheckKeyLength(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"{Algorithm} (AEAD {(ushort)Algorithm}) needs a {KeyLength}-byte key, got {key.Length} bytes", nameof(key));
        }
    }

    /// <summary>
    /// Marks the instance busy; throws when disposed or already in use on another thread. Until
    /// <see cref="Exit"/>, the native contexts cannot be freed.
    /// </summary>
    private protected void Enter()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            ThrowBusy();
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            // Dispose came between our claim and this check and left the freeing to us.
            Exit();
            ObjectDisposedException.ThrowIf(true, this);
        }
    }

    /// <summary>Releases the instance taken by <see cref="Enter"/>, freeing it if Dispose came meanwhile.</summary>
    private protected void Exit()
    {
        // Full fences: the read of _disposed must not move before the release of _busy.
        Interlocked.Exchange(ref _busy, 0);
        if (Volatile.Read(ref _disposed) != 0 && Interlocked.CompareExchange(ref _busy, 1, 0) == 0)
        {
            DisposeCore();
        }
    }

    // AES-128-GCM-SIV: OpenSSL's when it has one that passed the known-answer test, else the managed one.
    private static NtsAead CreateCore(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> key) => algorithm switch
    {
        NtsAeadAlgorithm.AesSivCmac256 or NtsAeadAlgorithm.AesSivCmac384 or NtsAeadAlgorithm.AesSivCmac512 => new AesSiv(algorithm, key),
        NtsAeadAlgorithm.Aes128GcmSiv when OpenSslAead.IsAes128GcmSivUsable => new OpenSslAead(algorithm, key),
        NtsAeadAlgorithm.Aes128GcmSiv => new AesGcmSiv(key),
        _ => throw new NotSupportedException($"AEAD algorithm {(ushort)algorithm} is not supported; the NTS AEADs are 15, 16 and 17 (AES-SIV-CMAC) and 30 (AES-128-GCM-SIV)"),
    };

    private static void CheckNoOverlap(ReadOnlySpan<byte> output, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c, string outputName)
    {
        ReadOnlySpan<byte> o = output;
        if (o.Overlaps(a) || o.Overlaps(b) || o.Overlaps(c))
        {
            throw new ArgumentException("the output buffer must not overlap the nonce, the associated data or the input", outputName);
        }
    }

    [DoesNotReturn]
    private void ThrowNonceLength(int length, string paramName) =>
        throw new ArgumentException(MaxNonceLength == int.MaxValue
            ? $"{Algorithm} needs a nonce of at least {MinNonceLength} byte, got {length} bytes"
            : $"{Algorithm} needs a {MinNonceLength}-byte nonce, got {length} bytes", paramName);

    [DoesNotReturn]
    private static void ThrowBusy() =>
        throw new InvalidOperationException("an NtsAead instance was used by two threads at once; it is not thread-safe: keep one instance per thread");
}
