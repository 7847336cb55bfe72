using Tempus.Crypto;
using Tempus.Protocol;
using Tempus.Testing;

namespace Tempus.Tests.Crypto;

public sealed class NtsAeadTests
{
    public static TheoryData<NtsAeadAlgorithm> Algorithms() =>
        new(NtsAeadAlgorithm.AesSivCmac256, NtsAeadAlgorithm.AesSivCmac384, NtsAeadAlgorithm.AesSivCmac512, NtsAeadAlgorithm.Aes128GcmSiv);

    [Theory]
    [InlineData(NtsAeadAlgorithm.AesSivCmac256, 32, 16)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac384, 48, 16)]
    [InlineData(NtsAeadAlgorithm.AesSivCmac512, 64, 16)]
    [InlineData(NtsAeadAlgorithm.Aes128GcmSiv, 16, 12)]
    public void AlgorithmsReportRfcLengths(NtsAeadAlgorithm algorithm, int keyLength, int nonceLength)
    {
        Assert.True(NtsAead.IsSupported(algorithm));
        Assert.Equal(keyLength, NtsAead.GetKeyLength(algorithm));
        using NtsAead aead = NtsAead.Create(algorithm, new byte[keyLength]);
        Assert.Equal(algorithm, aead.Algorithm);
        Assert.Equal(keyLength, aead.KeyLength);
        Assert.Equal(nonceLength, aead.NonceLength);
        Assert.Equal(16, aead.TagLength);
    }

    [Fact]
    public void UnknownAlgorithmIsNotSupported()
    {
        Assert.False(NtsAead.IsSupported((NtsAeadAlgorithm)1));
        Assert.False(NtsAead.IsSupported((NtsAeadAlgorithm)31));
        Assert.Throws<NotSupportedException>(() => NtsAead.Create((NtsAeadAlgorithm)31, new byte[32]));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void WrongKeyLengthThrows(NtsAeadAlgorithm algorithm)
    {
        int length = NtsAead.GetKeyLength(algorithm);
        Assert.Throws<ArgumentException>("key", () => NtsAead.Create(algorithm, new byte[length + 16]));
        using NtsAead aead = NtsAead.Create(algorithm, new byte[length]);
        Assert.Throws<ArgumentException>("key", () => aead.SetKey(new byte[length - 1]));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void BufferMisuseThrows(NtsAeadAlgorithm algorithm)
    {
        using NtsAead aead = NtsAead.Create(algorithm, new byte[NtsAead.GetKeyLength(algorithm)]);
        byte[] nonce = new byte[aead.NonceLength];
        byte[] buffer = new byte[64];
        Assert.Throws<ArgumentException>("ciphertextWithTag", () => aead.Seal(nonce, [], new byte[10], new byte[25]));
        Assert.Throws<ArgumentException>("nonce", () => aead.Seal([], [], [], new byte[16]));
        Assert.Throws<ArgumentException>("ciphertextWithTag", () => aead.Seal(nonce, [], buffer.AsSpan(0, 10), buffer.AsSpan(5, 26)));
        Assert.Throws<ArgumentException>("ciphertextWithTag", () => aead.Seal(nonce, buffer.AsSpan(0, 8), [], buffer.AsSpan(4, 16)));
        Assert.Throws<ArgumentException>("plaintext", () => aead.TryOpen(nonce, [], new byte[20], new byte[5]));
        Assert.Throws<ArgumentException>("plaintext", () => aead.TryOpen(nonce, [], buffer.AsSpan(0, 20), buffer.AsSpan(10, 4)));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void InputsFromTheWireThatCannotAuthenticateReturnFalse(NtsAeadAlgorithm algorithm)
    {
        using NtsAead aead = NtsAead.Create(algorithm, new byte[NtsAead.GetKeyLength(algorithm)]);
        byte[] plaintext = [1, 2, 3];
        Assert.False(aead.TryOpen(new byte[aead.NonceLength], [], new byte[15], plaintext));
        Assert.Equal(new byte[3], plaintext);
        Assert.False(aead.TryOpen([], [], new byte[16], []));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void SetKeyGivesTheSameResultsAsANewInstance(NtsAeadAlgorithm algorithm)
    {
        var random = new Random(42);
        int keyLength = NtsAead.GetKeyLength(algorithm);
        byte[] key1 = AesSivTests.RandomBytes(random, keyLength);
        byte[] key2 = AesSivTests.RandomBytes(random, keyLength);
        byte[] nonce = AesSivTests.RandomBytes(random, 12);
        byte[] ad = AesSivTests.RandomBytes(random, 200);
        byte[] plaintext = AesSivTests.RandomBytes(random, 100);
        byte[] expected = new byte[116];
        byte[] actual = new byte[116];
        using (NtsAead fresh = NtsAead.Create(algorithm, key2))
        {
            fresh.Seal(nonce, ad, plaintext, expected);
        }

        using NtsAead reused = NtsAead.Create(algorithm, key1);
        reused.Seal(nonce, ad, plaintext, actual);
        Assert.NotEqual(expected, actual);
        reused.SetKey(key2);
        reused.Seal(nonce, ad, plaintext, actual);
        Assert.Equal(expected, actual);
        Assert.True(reused.TryOpen(nonce, ad, expected, new byte[100]));
    }

    // The server path: per request, re-key for the cookie's C2S key, open the request, re-key for S2C,
    // seal the response. None of it may allocate (STYLE rule 30: 0 B per request).
    [Theory]
    [MemberData(nameof(Algorithms))]
    public void SealOpenAndSetKeyAllocateNothing(NtsAeadAlgorithm algorithm)
    {
        var random = new Random(7);
        int keyLength = NtsAead.GetKeyLength(algorithm);
        byte[] c2s = AesSivTests.RandomBytes(random, keyLength);
        byte[] s2c = AesSivTests.RandomBytes(random, keyLength);
        using NtsAead aead = NtsAead.Create(algorithm, c2s);
        byte[] nonce = AesSivTests.RandomBytes(random, aead.NonceLength);
        byte[] ad = AesSivTests.RandomBytes(random, 200);
        byte[] plaintext = AesSivTests.RandomBytes(random, 100);
        byte[] sealedMessage = new byte[116];
        byte[] opened = new byte[100];
        aead.Seal(nonce, ad, plaintext, sealedMessage);

        void Request()
        {
            aead.SetKey(c2s);
            aead.Seal(nonce, ad, plaintext, sealedMessage);
            if (!aead.TryOpen(nonce, ad, sealedMessage, opened))
            {
                throw new InvalidOperationException("round trip failed");
            }

            sealedMessage[0] ^= 1;
            if (aead.TryOpen(nonce, ad, sealedMessage, opened))
            {
                throw new InvalidOperationException("tampered message opened");
            }

            sealedMessage[0] ^= 1;
            aead.SetKey(s2c);
            aead.Seal(nonce, ad, plaintext, sealedMessage);
        }

        for (int i = 0; i < 100; i++)
        {
            Request();
        }

        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    Request();
                }
            },
            "1000 requests");
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void DisposedInstanceThrows(NtsAeadAlgorithm algorithm)
    {
        NtsAead aead = NtsAead.Create(algorithm, new byte[NtsAead.GetKeyLength(algorithm)]);
        aead.Dispose();
        aead.Dispose();
        Assert.Throws<ObjectDisposedException>(() => aead.Seal(new byte[aead.NonceLength], [], [], new byte[16]));
        Assert.Throws<ObjectDisposedException>(() => aead.TryOpen(new byte[aead.NonceLength], [], new byte[16], []));
        Assert.Throws<ObjectDisposedException>(() => aead.SetKey(new byte[NtsAead.GetKeyLength(algorithm)]));
    }

    // Two threads sharing one instance is a bug in the caller; it must surface as an exception, never as
    // a wrong ciphertext or a message that opens when it should not.
    [Fact]
    public void ConcurrentUseOfOneInstanceThrowsInsteadOfCorrupting()
    {
        using NtsAead aead = NtsAead.Create(NtsAeadAlgorithm.AesSivCmac256, new byte[32]);
        byte[] nonce = new byte[16];
        byte[] ad = new byte[1200];
        byte[] plaintext = new byte[1000];
        byte[] expected = new byte[1016];
        aead.Seal(nonce, ad, plaintext, expected);
        int collisions = 0;
        int wrong = 0;
        void Work()
        {
            byte[] output = new byte[1016];
            for (int i = 0; i < 20000 && Volatile.Read(ref collisions) == 0; i++)
            {
                try
                {
                    aead.Seal(nonce, ad, plaintext, output);
                    if (!output.AsSpan().SequenceEqual(expected))
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref collisions);
                }
            }
        }

        Parallel.Invoke(new ParallelOptions { MaxDegreeOfParallelism = 2 }, Work, Work);
        Assert.Equal(0, wrong);
    }

    // Dispose racing a call on another thread (also a caller bug) must not free the OpenSSL contexts under
    // that call: the call finishes with a correct result and the next one sees ObjectDisposedException.
    [Theory]
    [MemberData(nameof(Algorithms))]
    public void DisposeDuringACallOnAnotherThreadWaitsForIt(NtsAeadAlgorithm algorithm)
    {
        for (int round = 0; round < 20; round++)
        {
            NtsAead aead = NtsAead.Create(algorithm, new byte[NtsAead.GetKeyLength(algorithm)]);
            byte[] nonce = new byte[aead.NonceLength];
            byte[] ad = new byte[1000];
            byte[] plaintext = new byte[1000];
            byte[] expected = new byte[1016];
            aead.Seal(nonce, ad, plaintext, expected);
            int wrong = 0;
            Exception? ended = null;
            using var started = new ManualResetEventSlim();
            var worker = new Thread(() =>
            {
                byte[] output = new byte[1016];
                started.Set();
                try
                {
                    while (true)
                    {
                        aead.Seal(nonce, ad, plaintext, output);
                        if (!output.AsSpan().SequenceEqual(expected))
                        {
                            wrong++;
                        }
                    }
                }
                catch (Exception e)
                {
                    ended = e;
                }
            });
            worker.Start();
            started.Wait();
            Thread.Sleep(1);
            aead.Dispose();
            Assert.True(worker.Join(TimeSpan.FromSeconds(10)));
            Assert.IsType<ObjectDisposedException>(ended);
            Assert.Equal(0, wrong);
        }
    }
}
