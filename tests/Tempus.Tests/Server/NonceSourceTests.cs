using Tempus.Server;
using Tempus.Testing;

namespace Tempus.Tests.Server;

/// <summary>The per-thread nonce pool of the NTS server path: every byte from the CSPRNG, handed out once.</summary>
public sealed class NonceSourceTests
{
    [Fact]
    public void NoncesDrawnAcrossSeveralRefillsNeverRepeat()
    {
        // 16-byte nonces from the CSPRNG repeat with probability about n² / 2^129: any repeat here is a reused byte.
        (HashSet<UInt128> seen, int count, int refills) = TestThread.Run(() =>
        {
            NonceSource source = NonceSource.Current;
            var nonces = new HashSet<UInt128>();
            Span<byte> nonce = stackalloc byte[16];
            int drawn = (NonceSource.PoolSize / 16 * 5) + 3;
            for (int i = 0; i < drawn; i++)
            {
                source.Fill(nonce);
                nonces.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(nonce));
            }

            return (nonces, drawn, source.Refills);
        });

        Assert.Equal(count, seen.Count);
        Assert.Equal(6, refills);
    }

    [Fact]
    public void NonceLongerThanTheBytesLeftRefillsThePoolInsteadOfTakingTheLeftover()
    {
        (int before, int after, int handedOut) = TestThread.Run(() =>
        {
            NonceSource source = NonceSource.Current;
            source.Fill(new byte[NonceSource.PoolSize / 2]);
            source.Fill(new byte[(NonceSource.PoolSize / 2) - 10]);
            int full = source.Refills;
            source.Fill(new byte[12]);
            return (full, source.Refills, source.HandedOut.Length);
        });

        // 10 bytes were left for a 12-byte nonce: the pool was refilled, not topped up with them.
        Assert.Equal(1, before);
        Assert.Equal(2, after);
        Assert.Equal(12, handedOut);
    }

    [Fact]
    public void BytesHandedOutAreZeroedInThePoolAndTheRestIsRandom()
    {
        (byte[] handedOut, byte[] unused, byte[] last) = TestThread.Run(() =>
        {
            NonceSource source = NonceSource.Current;
            byte[] nonce = new byte[16];
            for (int i = 0; i < 10; i++)
            {
                source.Fill(nonce);
            }

            return (source.HandedOut.ToArray(), source.Unused.ToArray(), nonce);
        });

        Assert.Equal(160, handedOut.Length);
        Assert.All(handedOut, b => Assert.Equal(0, b));
        Assert.Equal(NonceSource.PoolSize - 160, unused.Length);
        Assert.Contains(unused, b => b != 0);
        Assert.Contains(last, b => b != 0);
    }

    [Fact]
    public void EachThreadHasItsOwnPool()
    {
        NonceSource mine = NonceSource.Current;
        NonceSource other = TestThread.Run(() => NonceSource.Current);

        Assert.Same(mine, NonceSource.Current);
        Assert.NotSame(mine, other);
    }

    [Fact]
    public void FillLongerThanHalfThePoolComesStraightFromTheCsprngAndLeavesThePoolAlone()
    {
        (int refills, bool allZero) = TestThread.Run(() =>
        {
            NonceSource source = NonceSource.Current;
            byte[] big = new byte[(NonceSource.PoolSize / 2) + 1];
            source.Fill(big);
            return (source.Refills, Array.TrueForAll(big, b => b == 0));
        });

        Assert.Equal(0, refills);
        Assert.False(allZero);
    }

    [Fact]
    public void DrawingNoncesAllocatesNothingPerCall()
    {
        TestThread.Run(() =>
        {
            NonceSource source = NonceSource.Current;
            byte[] nonce = new byte[16];
            for (int i = 0; i < 1000; i++)
            {
                source.Fill(nonce);
            }

            // Several refills per round.
            AllocationAssert.NothingPerRound(
                () =>
                {
                    for (int i = 0; i < 2000; i++)
                    {
                        source.Fill(nonce);
                    }
                },
                "2000 nonces");
            return true;
        });
    }
}
