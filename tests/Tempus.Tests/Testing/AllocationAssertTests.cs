using Tempus.Testing;
using Xunit.Sdk;

namespace Tempus.Tests.Testing;

/// <summary>
/// The shared allocation assertion (tests/Shared/AllocationAssert.cs) must still catch what the hot-path tests are
/// for: code that allocates on every call fails it, code that allocates nothing passes, and a single one-off
/// allocation (the runtime's own work on the thread) does not fail it.
/// </summary>
public sealed class AllocationAssertTests
{
    private static object? s_sink;

    [Fact]
    public void CodeThatAllocatesOnEveryCallFails()
    {
        FailException e = Assert.Throws<FailException>(() => AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    s_sink = new byte[16];
                }
            },
            "1000 calls"));

        Assert.Contains("1000 calls allocated in each of 3 rounds", e.Message, StringComparison.Ordinal);
        Assert.Contains("something allocates per call", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CodeThatAllocatesOnceEveryFewCallsFails()
    {
        int calls = 0;
        Assert.Throws<FailException>(() => AllocationAssert.NothingPerRound(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                if (++calls % 100 == 0)
                {
                    s_sink = new object();
                }
            }
        }));
    }

    [Fact]
    public void CodeThatAllocatesNothingPasses()
    {
        byte[] buffer = new byte[64];
        int rounds = 0;

        AllocationAssert.NothingPerRound(() =>
        {
            rounds++;
            for (int i = 0; i < 1000; i++)
            {
                buffer[i % buffer.Length] ^= (byte)i;
            }
        });

        Assert.Equal(AllocationAssert.Rounds, rounds);
    }

    [Fact]
    public void AOneOffAllocationInASingleRoundPasses()
    {
        int rounds = 0;

        // As the runtime's one-off work does: 3736 bytes in one round, never again.
        AllocationAssert.NothingPerRound(() =>
        {
            if (++rounds == 2)
            {
                s_sink = new byte[3736];
            }
        });

        Assert.Equal(AllocationAssert.Rounds, rounds);
    }
}
