using System.Security.Cryptography;
using Tempus.Crypto;
using Tempus.Protocol;

namespace Tempus.AotBench;

/// <summary>
/// The AEAD alone (<see cref="NtsAead"/>, the implementation the engine rents), in the shape of the response to an
/// NTS request without placeholders: 84 bytes of associated data (the NTP header and the Unique Identifier field), a
/// 16-byte nonce, and one NTS Cookie field (4 + 104 bytes for AEAD 15) as plaintext.
/// </summary>
internal sealed class AeadCase : BenchCase
{
    private const int AssociatedDataLength = 84;
    private const int PlaintextLength = 108;

    private readonly bool _open;
    private readonly NtsAeadAlgorithm _algorithm;
    private readonly byte[] _key;
    private readonly NtsAead _aead;
    private readonly byte[] _nonce;
    private readonly byte[] _associatedData = RandomNumberGenerator.GetBytes(AssociatedDataLength);
    private readonly byte[] _plaintext = RandomNumberGenerator.GetBytes(PlaintextLength);
    private readonly byte[] _ciphertext = new byte[PlaintextLength + NtsAead.TagSize];
    private readonly byte[] _opened = new byte[PlaintextLength];

    /// <param name="name">The row's name.</param>
    /// <param name="algorithm">The AEAD.</param>
    /// <param name="open">True to time opening (RFC 5297 §2.7: S2V over the decrypted text, then compare the tag),
    /// false to time sealing.</param>
    public AeadCase(string name, NtsAeadAlgorithm algorithm, bool open)
    {
        Name = name;
        _algorithm = algorithm;
        _open = open;
        _key = RandomNumberGenerator.GetBytes(NtsAead.GetKeyLength(algorithm));
        _aead = NtsAead.Create(algorithm, _key);
        _nonce = RandomNumberGenerator.GetBytes(_aead.NonceLength);
        Description = $"AEAD {(int)algorithm} {(open ? "open" : "seal")} alone: {AssociatedDataLength} B AD, {_nonce.Length} B nonce, {PlaintextLength} B text";
    }

    public override string Name { get; }

    public override string Description { get; }

    public override int InputLength => _open ? _ciphertext.Length : PlaintextLength;

    public override string? Verify()
    {
        _aead.Seal(_nonce, _associatedData, _plaintext, _ciphertext);
        OutputLength = _open ? PlaintextLength : _ciphertext.Length;

        // Each side checked by a separately keyed instance: what one seals the other opens, and a flipped bit in the
        // associated data makes opening fail.
        using NtsAead other = NtsAead.Create(_algorithm, _key);
        if (!other.TryOpen(_nonce, _associatedData, _ciphertext, _opened) || !_opened.AsSpan().SequenceEqual(_plaintext))
        {
            return "the sealed message does not open to its plaintext under a second instance with the same key";
        }

        Array.Clear(_opened);
        if (!_aead.TryOpen(_nonce, _associatedData, _ciphertext, _opened) || !_opened.AsSpan().SequenceEqual(_plaintext))
        {
            return "the sealed message does not open to its plaintext under the instance that sealed it";
        }

        byte[] tampered = _associatedData.ToArray();
        tampered[^1] ^= 1;
        return _aead.TryOpen(_nonce, tampered, _ciphertext, _opened) ? "a message opened with altered associated data" : null;
    }

    public override void Run(int iterations)
    {
        if (_open)
        {
            for (int i = 0; i < iterations; i++)
            {
                _aead.TryOpen(_nonce, _associatedData, _ciphertext, _opened);
            }
        }
        else
        {
            for (int i = 0; i < iterations; i++)
            {
                _aead.Seal(_nonce, _associatedData, _plaintext, _ciphertext);
            }
        }
    }

    public override void Dispose() => _aead.Dispose();
}
