using System.Security.Cryptography;
using Tempus.Native;
using Tempus.Protocol;

namespace Tempus.Crypto;

/// <summary>
/// An NTS AEAD run entirely by one of OpenSSL's EVP AEAD ciphers: "AES-128-GCM-SIV" where the loaded
/// OpenSSL has it (3.2 and later) and it passes a known-answer test, and "AES-*-SIV" only as the measured
/// alternative to <see cref="AesSiv"/> (benchmarks and tests).
/// </summary>
/// <remarks>
/// <para>
/// Every message re-initialises the context with the key: OpenSSL 3.0's AES-SIV keeps S2V state across an
/// IV-only re-initialisation, and for AES-GCM-SIV the nonce-derived keys are computed at initialisation anyway.
/// </para>
/// <para>
/// Known gaps, which is why the probe runs the known-answer test (with an empty plaintext) before
/// AES-128-GCM-SIV is trusted: before OpenSSL 3.5 neither SIV cipher accepts an empty plaintext, and AES-SIV
/// ignores an empty associated-data component (S2V must count it). The AES-SIV mode refuses both instead of
/// computing a wrong answer.
/// </para>
/// </remarks>
internal sealed class OpenSslAead : NtsAead
{
    private static readonly Lazy<string?> s_gcmSivUnusableReason = new(ProbeAes128GcmSiv);

    private readonly NtsAeadAlgorithm _algorithm;
    private readonly bool _siv;
    private readonly SafeEvpCipherCtxHandle _ctx;
    private readonly byte[] _key;

    /// <summary>Fetches OpenSSL's implementation of <paramref name="algorithm"/> and keys it.</summary>
    /// <exception cref="PlatformNotSupportedException">The loaded OpenSSL has no such cipher.</exception>
    internal OpenSslAead(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        _algorithm = algorithm;
        string name = GetOpenSslName(algorithm);
        _siv = algorithm != NtsAeadAlgorithm.Aes128GcmSiv;
        CheckKeyLength(key);
        Interop.Crypto.EnsureSupported();
        using SafeEvpCipherHandle cipher = Interop.Crypto.EvpCipherFetch(name)
            ?? throw new PlatformNotSupportedException($"OpenSSL 0x{Interop.Crypto.OpenSslVersion:x} has no {name} cipher (AES-GCM-SIV needs OpenSSL 3.2 or later)");
        _ctx = Interop.Crypto.EvpCipherCtxCreate(cipher);
        _key = GC.AllocateArray<byte>(key.Length, pinned: true);
        key.CopyTo(_key);
    }

    /// <summary>Whether <see cref="NtsAead.Create"/> should use OpenSSL's AES-128-GCM-SIV.</summary>
    internal static bool IsAes128GcmSivUsable => s_gcmSivUnusableReason.Value is null;

    /// <summary>Why OpenSSL's AES-128-GCM-SIV is not used (missing, or failed the known-answer test), or null.</summary>
    internal static string? Aes128GcmSivUnusableReason => s_gcmSivUnusableReason.Value;

    /// <inheritdoc/>
    public override NtsAeadAlgorithm Algorithm => _algorithm;

    /// <inheritdoc/>
    public override int NonceLength => _siv ? 16 : 12;

    /// <inheritdoc/>
    public override int MinNonceLength => _siv ? 1 : 12;

    /// <inheritdoc/>
    public override int MaxNonceLength => _siv ? int.MaxValue : 12;

    /// <inheritdoc/>
    private protected override void SetKeyCore(ReadOnlySpan<byte> key) => key.CopyTo(_key);

    /// <inheritdoc/>
    private protected override void SealCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> ciphertextWithTag)
    {
        CheckSivInputs(associatedData, plaintext);

        // NTS layout: AES-SIV puts the tag (the synthetic IV) first, AES-GCM-SIV last.
        Span<byte> tag = _siv ? ciphertextWithTag[..TagSize] : ciphertextWithTag[plaintext.Length..];
        Span<byte> ciphertext = _siv ? ciphertextWithTag[TagSize..] : ciphertextWithTag[..plaintext.Length];
        bool ok = Begin(nonce, associatedData, encrypt: true)
            && (plaintext.IsEmpty || Interop.Crypto.EvpCipherUpdate(_ctx, plaintext, ciphertext))
            && Interop.Crypto.EvpCipherFinal(_ctx);
        if (!ok)
        {
            throw Interop.Crypto.CreateOpenSslException(_siv ? "AES-SIV encryption" : "AES-GCM-SIV encryption");
        }

        Interop.Crypto.EvpCipherGetTag(_ctx, tag);
    }

    /// <inheritdoc/>
    private protected override bool TryOpenCore(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertextWithTag, Span<byte> plaintext)
    {
        CheckSivInputs(associatedData, plaintext);
        ReadOnlySpan<byte> tag = _siv ? ciphertextWithTag[..TagSize] : ciphertextWithTag[plaintext.Length..];
        ReadOnlySpan<byte> ciphertext = _siv ? ciphertextWithTag[TagSize..] : ciphertextWithTag[..plaintext.Length];
        Interop.Crypto.EvpCipherInit(_ctx, 0, _key, _siv ? default : nonce, encrypt: false);
        Interop.Crypto.EvpCipherSetTag(_ctx, tag);
        bool ok = AddAssociatedData(nonce, associatedData)
            && (ciphertext.IsEmpty || Interop.Crypto.EvpCipherUpdate(_ctx, ciphertext, plaintext))
            && Interop.Crypto.EvpCipherFinal(_ctx);
        if (!ok)
        {
            // A tag mismatch queues an OpenSSL error; leave nothing for the next caller on this thread.
            Interop.Crypto.ErrClearError();
        }

        return ok;
    }

    /// <inheritdoc/>
    private protected override void DisposeCore()
    {
        CryptographicOperations.ZeroMemory(_key);
        _ctx.Dispose();
    }

    private static string GetOpenSslName(NtsAeadAlgorithm algorithm) => algorithm switch
    {
        NtsAeadAlgorithm.AesSivCmac256 => "AES-128-SIV",
        NtsAeadAlgorithm.AesSivCmac384 => "AES-192-SIV",
        NtsAeadAlgorithm.AesSivCmac512 => "AES-256-SIV",
        NtsAeadAlgorithm.Aes128GcmSiv => "AES-128-GCM-SIV",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "not an NTS AEAD"),
    };

    /// <summary>
    /// Fetches AES-128-GCM-SIV and runs RFC 8452 §C.1 vectors through it (an empty message among them);
    /// returns null when it is usable, else why not.
    /// </summary>
    private static string? ProbeAes128GcmSiv()
    {
        if (Interop.Crypto.UnsupportedReason is { } reason)
        {
            return reason;
        }

        using (SafeEvpCipherHandle? cipher = Interop.Crypto.EvpCipherFetch("AES-128-GCM-SIV"))
        {
            if (cipher is null)
            {
                return $"OpenSSL 0x{Interop.Crypto.OpenSslVersion:x} has no AES-128-GCM-SIV (it appeared in 3.2)";
            }
        }

        // RFC 8452 §C.1: key 01 00.., nonce 03 00..; (plaintext, AAD, result) triples.
        ReadOnlySpan<byte> key = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ReadOnlySpan<byte> nonce = [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        (string Plaintext, string AssociatedData, string Result)[] vectors =
        [
            ("", "", "dc20e2d83f25705bb49e439eca56de25"),
            ("0100000000000000", "", "b5d839330ac7b786578782fff6013b815b287c22493a364c"),
            ("02000000000000000000000000000000", "01", "e2b0c5da79a901c1745f700525cb335b8f8936ec039e4e4bb97ebd8c4457441f"),
        ];

        try
        {
            using var aead = new OpenSslAead(NtsAeadAlgorithm.Aes128GcmSiv, key);
            foreach ((string plaintextHex, string associatedDataHex, string resultHex) in vectors)
            {
                byte[] plaintext = Convert.FromHexString(plaintextHex);
                byte[] associatedData = Convert.FromHexString(associatedDataHex);
                byte[] expected = Convert.FromHexString(resultHex);
                byte[] output = new byte[expected.Length];
                byte[] opened = new byte[plaintext.Length];
                aead.Seal(nonce, associatedData, plaintext, output);
                if (!output.AsSpan().SequenceEqual(expected) || !aead.TryOpen(nonce, associatedData, expected, opened) || !opened.AsSpan().SequenceEqual(plaintext))
                {
                    return $"OpenSSL 0x{Interop.Crypto.OpenSslVersion:x} AES-128-GCM-SIV fails RFC 8452 §C.1 for a {plaintext.Length}-byte plaintext";
                }

                expected[^1] ^= 1;
                if (aead.TryOpen(nonce, associatedData, expected, opened))
                {
                    return $"OpenSSL 0x{Interop.Crypto.OpenSslVersion:x} AES-128-GCM-SIV accepts a forged tag";
                }
            }
        }
        catch (CryptographicException e)
        {
            Interop.Crypto.ErrClearError();
            return $"OpenSSL 0x{Interop.Crypto.OpenSslVersion:x} AES-128-GCM-SIV failed its known-answer test: {e.Message}";
        }

        return null;
    }

    private void CheckSivInputs(ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext)
    {
        if (_siv && (associatedData.IsEmpty || plaintext.IsEmpty))
        {
            throw new NotSupportedException("OpenSSL's AES-SIV cipher drops an empty associated-data component and (before 3.5) cannot take an empty plaintext; use AesSiv");
        }
    }

    private bool Begin(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, bool encrypt)
    {
        Interop.Crypto.EvpCipherInit(_ctx, 0, _key, _siv ? default : nonce, encrypt);
        return AddAssociatedData(nonce, associatedData);
    }

    private bool AddAssociatedData(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData)
    {
        if (_siv)
        {
            // RFC 5297 §3 / RFC 8915 §5.6: S2V components (associated data, nonce), then the plaintext.
            return Interop.Crypto.EvpCipherUpdateAad(_ctx, associatedData) && Interop.Crypto.EvpCipherUpdateAad(_ctx, nonce);
        }

        // RFC 8452 takes the additional data as one string, in one call.
        return associatedData.IsEmpty || Interop.Crypto.EvpCipherUpdateAad(_ctx, associatedData);
    }
}
