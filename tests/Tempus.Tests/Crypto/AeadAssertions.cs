using Tempus.Crypto;

namespace Tempus.Tests.Crypto;

/// <summary>Checks every NTS AEAD must pass, whatever the algorithm or implementation.</summary>
internal static class AeadAssertions
{
    /// <summary>
    /// Seals an NTS-sized message (200 bytes of associated data, 100 of plaintext) and flips, one at a time,
    /// every bit of the nonce, the associated data and the output (ciphertext and tag): each must fail to open
    /// and leave the plaintext buffer zeroed.
    /// </summary>
    public static void AnyFlippedBitFails(NtsAead aead, Random random)
    {
        byte[] nonce = AesSivTests.RandomBytes(random, aead.NonceLength);
        byte[] ad = AesSivTests.RandomBytes(random, 200);
        byte[] plaintext = AesSivTests.RandomBytes(random, 100);
        byte[] sealedMessage = new byte[plaintext.Length + aead.TagLength];
        aead.Seal(nonce, ad, plaintext, sealedMessage);
        byte[] opened = new byte[plaintext.Length];

        foreach (byte[] target in new[] { nonce, ad, sealedMessage })
        {
            for (int bit = 0; bit < target.Length * 8; bit++)
            {
                target[bit / 8] ^= (byte)(1 << (bit % 8));
                opened.AsSpan().Fill(0xaa);
                Assert.False(aead.TryOpen(nonce, ad, sealedMessage, opened), $"bit {bit} flipped in a {target.Length}-byte input still opened");
                Assert.True(opened.AsSpan().IndexOfAnyExcept((byte)0) < 0, "the plaintext buffer was not cleared after a failed open");
                target[bit / 8] ^= (byte)(1 << (bit % 8));
            }
        }

        Assert.True(aead.TryOpen(nonce, ad, sealedMessage, opened));
        Assert.Equal(plaintext, opened);

        // Truncated or extended messages fail too.
        Assert.False(aead.TryOpen(nonce, ad, sealedMessage.AsSpan(0, sealedMessage.Length - 1), new byte[plaintext.Length - 1]));
        Assert.False(aead.TryOpen(nonce, ad, [.. sealedMessage, 0], new byte[plaintext.Length + 1]));
        Assert.False(aead.TryOpen(nonce, ad.AsSpan(0, ad.Length - 1), sealedMessage, opened));
    }

    /// <summary>
    /// Seals and opens 300 messages with random lengths (associated data and plaintext 0..300 bytes) on one
    /// instance, so that state left by one call (CBC chaining, CTR position, derived keys) cannot leak into the next.
    /// </summary>
    public static void RoundTrips(NtsAead aead, Random random, int minNonce, int maxNonce)
    {
        for (int i = 0; i < 300; i++)
        {
            byte[] nonce = AesSivTests.RandomBytes(random, random.Next(minNonce, maxNonce + 1));
            byte[] ad = AesSivTests.RandomBytes(random, random.Next(0, 301));
            byte[] plaintext = AesSivTests.RandomBytes(random, random.Next(0, 301));
            byte[] sealedMessage = new byte[plaintext.Length + NtsAead.TagSize];
            aead.Seal(nonce, ad, plaintext, sealedMessage);
            byte[] opened = new byte[plaintext.Length];
            Assert.True(aead.TryOpen(nonce, ad, sealedMessage, opened), $"round {i}: ad {ad.Length}, plaintext {plaintext.Length}, nonce {nonce.Length}");
            Assert.Equal(plaintext, opened);
            if (plaintext.Length >= 16)
            {
                Assert.False(plaintext.AsSpan().SequenceEqual(aead.Algorithm == Tempus.Protocol.NtsAeadAlgorithm.Aes128GcmSiv ? sealedMessage.AsSpan(0, plaintext.Length) : sealedMessage.AsSpan(16)));
            }
        }
    }
}
