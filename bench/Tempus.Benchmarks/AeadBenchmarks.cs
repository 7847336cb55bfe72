using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Tempus.Crypto;
using Tempus.Native;
using Tempus.Protocol;

namespace Tempus.Benchmarks;

/// <summary>
/// The NTS server's AEAD work on one message: 200 bytes of associated data (header, unique id, cookie) and 100 of
/// plaintext (encrypted cookies), sealed, opened and re-keyed. The subclasses choose the implementation.
/// </summary>
public abstract class NtsMessageBenchmarks
{
    private protected readonly byte[] _associatedData = new byte[200];
    private protected readonly byte[] _plaintext = new byte[100];
    private protected readonly byte[] _sealed = new byte[116];
    private protected readonly byte[] _opened = new byte[100];
    private protected byte[] _nonce = [];
    private protected byte[] _key = [];
    private NtsAead _aead = null!;

    [GlobalCleanup]
    public void Cleanup() => _aead.Dispose();

    /// <summary>A response: seal 100 bytes under 200 bytes of associated data.</summary>
    [Benchmark]
    public void Seal() => _aead.Seal(_nonce, _associatedData, _plaintext, _sealed);

    /// <summary>A request: authenticate and decrypt the same.</summary>
    [Benchmark]
    public bool Open() => _aead.TryOpen(_nonce, _associatedData, _sealed, _opened);

    /// <summary>Re-keying for the C2S or S2C key taken out of a cookie.</summary>
    [Benchmark]
    public void SetKey() => _aead.SetKey(_key);

    /// <summary>Fills the message and a key for <paramref name="algorithm"/> from a fixed seed, makes the instance and a nonce.</summary>
    private protected T Prepare<T>(NtsAeadAlgorithm algorithm, Func<byte[], T> create)
        where T : NtsAead
    {
        var random = new Random(8915);
        random.NextBytes(_associatedData);
        random.NextBytes(_plaintext);
        _key = new byte[NtsAead.GetKeyLength(algorithm)];
        random.NextBytes(_key);
        T aead = create(_key);
        _aead = aead;
        _nonce = new byte[aead.NonceLength];
        random.NextBytes(_nonce);
        return aead;
    }
}

/// <summary>
/// The NTS server's AEAD work per request, on a typical message: 200 bytes of associated data (header,
/// unique id, cookie) and 100 bytes of plaintext (encrypted cookies). Compares the shipped implementations
/// with the alternatives they were chosen over: OpenSSL's EVP AES-SIV, and POLYVAL without PCLMULQDQ.
/// Allocation budget: 0 B.
/// </summary>
/// <remarks>dotnet run -c Release --project bench/Tempus.Benchmarks -- --filter '*AeadBenchmarks*'</remarks>
[MemoryDiagnoser]
public class AeadBenchmarks : NtsMessageBenchmarks
{

    /// <summary>The implementation measured.</summary>
    public enum Implementation
    {
        /// <summary>AEAD 15, <see cref="AesSiv"/>: own S2V/CMAC and CTR, on AES-NI where the CPU has it (else OpenSSL CBC/ECB).</summary>
        AesSiv256,

        /// <summary>AEAD 15 through OpenSSL's EVP "AES-128-SIV" (re-keyed per message).</summary>
        OpenSslEvpAesSiv256,

        /// <summary>AEAD 17, <see cref="AesSiv"/>.</summary>
        AesSiv512,

        /// <summary>AEAD 17 through OpenSSL's EVP "AES-256-SIV".</summary>
        OpenSslEvpAesSiv512,

        /// <summary>AEAD 30, <see cref="AesGcmSiv"/> with PCLMULQDQ POLYVAL.</summary>
        Aes128GcmSivPclmul,

        /// <summary>AEAD 30, <see cref="AesGcmSiv"/> with the software POLYVAL fallback.</summary>
        Aes128GcmSivSoftware,
    }

    /// <summary>Which implementation runs.</summary>
    [ParamsAllValues]
    public Implementation Contender { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (NtsAeadAlgorithm algorithm, Func<byte[], NtsAead> create) = Contender switch
        {
            Implementation.AesSiv256 => (NtsAeadAlgorithm.AesSivCmac256, (Func<byte[], NtsAead>)(k => new AesSiv(NtsAeadAlgorithm.AesSivCmac256, k))),
            Implementation.OpenSslEvpAesSiv256 => (NtsAeadAlgorithm.AesSivCmac256, k => new OpenSslAead(NtsAeadAlgorithm.AesSivCmac256, k)),
            Implementation.AesSiv512 => (NtsAeadAlgorithm.AesSivCmac512, k => new AesSiv(NtsAeadAlgorithm.AesSivCmac512, k)),
            Implementation.OpenSslEvpAesSiv512 => (NtsAeadAlgorithm.AesSivCmac512, k => new OpenSslAead(NtsAeadAlgorithm.AesSivCmac512, k)),
            Implementation.Aes128GcmSivPclmul => (NtsAeadAlgorithm.Aes128GcmSiv, k => new AesGcmSiv(k, hardwarePolyval: true)),
            _ => (NtsAeadAlgorithm.Aes128GcmSiv, k => new AesGcmSiv(k, hardwarePolyval: false)),
        };

        NtsAead aead = Prepare(algorithm, create);
        aead.Seal(_nonce, _associatedData, _plaintext, _sealed);

        // The contenders must compute the same thing: check against the factory's instance.
        using NtsAead reference = NtsAead.Create(algorithm, _key);
        byte[] expected = new byte[_sealed.Length];
        reference.Seal(_nonce, _associatedData, _plaintext, expected);
        if (!expected.AsSpan().SequenceEqual(_sealed) || !aead.TryOpen(_nonce, _associatedData, _sealed, _opened))
        {
            throw new InvalidOperationException($"{Contender} disagrees with NtsAead.Create({algorithm})");
        }
    }
}

/// <summary>
/// <see cref="AesSiv"/>'s two AES paths side by side on the NTS server's per-request work (200 bytes of
/// associated data, 100 of plaintext): AES-NI intrinsics (<see cref="AesNi"/>) against the OpenSSL EVP
/// CBC/ECB contexts it falls back to. Allocation budget: 0 B.
/// </summary>
/// <remarks>dotnet run -c Release --project bench/Tempus.Benchmarks -- --filter '*AesSivPathBenchmarks*' --job short</remarks>
[MemoryDiagnoser]
[MinColumn]
public class AesSivPathBenchmarks : NtsMessageBenchmarks
{
    private AesSiv _siv = null!;

    /// <summary>The NTS AEAD id: 15 (AES-SIV-CMAC-256) or 17 (AES-SIV-CMAC-512).</summary>
    [Params(15, 17)]
    public int Aead { get; set; }

    /// <summary>Whether AES runs on AES-NI (<see langword="true"/>) or through OpenSSL EVP.</summary>
    [Params(true, false)]
    public bool Intrinsics { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var algorithm = (NtsAeadAlgorithm)Aead;
        _siv = Prepare(algorithm, key => new AesSiv(algorithm, key, Intrinsics));
        if (_siv.UsesIntrinsics != Intrinsics)
        {
            throw new InvalidOperationException("this CPU has no AES-NI: the comparison would measure OpenSSL twice");
        }

        // Both paths must compute the same thing.
        using var other = new AesSiv(algorithm, _key, !Intrinsics);
        byte[] expected = new byte[_sealed.Length];
        other.Seal(_nonce, _associatedData, _plaintext, expected);
        _siv.Seal(_nonce, _associatedData, _plaintext, _sealed);
        if (!expected.AsSpan().SequenceEqual(_sealed) || !_siv.TryOpen(_nonce, _associatedData, _sealed, _opened))
        {
            throw new InvalidOperationException($"AEAD {Aead}: the AES-NI and OpenSSL paths disagree");
        }
    }

    /// <summary>One S2V CMAC over the 200 bytes of associated data: 13 chained AES blocks.</summary>
    [Benchmark]
    public void Cmac200() => _siv.ComputeCmac(_associatedData, _opened);

    /// <summary>The whole AEAD part of one NTS request: re-key (C2S), open, re-key (S2C), seal.</summary>
    [Benchmark]
    public void Request()
    {
        _siv.SetKey(_key);
        _ = _siv.TryOpen(_nonce, _associatedData, _sealed, _opened);
        _siv.SetKey(_key);
        _siv.Seal(_nonce, _associatedData, _opened, _sealed);
    }
}

/// <summary>
/// The AES block function options for AES-GCM-SIV's key derivation and CTR (4 blocks here, as in the key
/// derivation): .NET's <see cref="Aes.EncryptEcb(ReadOnlySpan{byte}, Span{byte}, PaddingMode)"/> against an
/// update on a kept OpenSSL EVP context.
/// </summary>
[MemoryDiagnoser]
public class AesBlockBenchmarks
{
    private readonly byte[] _blocks = new byte[64];
    private Aes _dotnet = null!;
    private SafeEvpCipherCtxHandle _evp = null!;

    [GlobalSetup]
    public void Setup()
    {
        byte[] key = new byte[16];
        _dotnet = Aes.Create();
        _dotnet.Key = key;
        _evp = Interop.Crypto.EvpCipherCreateEncryptor(Interop.Crypto.EvpAes128Ecb(), key, default);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _dotnet.Dispose();
        _evp.Dispose();
    }

    /// <summary>.NET's one-shot ECB: on Linux it creates and keys an OpenSSL context per call.</summary>
    [Benchmark(Baseline = true)]
    public int DotNetAesEncryptEcb() => _dotnet.EncryptEcb(_blocks, _blocks, PaddingMode.None);

    /// <summary>EVP_EncryptUpdate on a context keyed once.</summary>
    [Benchmark]
    public void OpenSslEvpEcbUpdate() => Interop.Crypto.EvpEncryptUpdate(_evp, _blocks, _blocks);

    /// <summary>Re-keying the kept context, as AES-GCM-SIV does per message for its derived key.</summary>
    [Benchmark]
    public void OpenSslEvpRekey() => Interop.Crypto.EvpCipherInit(_evp, 0, _blocks.AsSpan(0, 16), default, encrypt: true);
}
