namespace Tempus.Testing;

/// <summary>
/// The one "allocates nothing once warm" assertion of the hot-path tests, shared by the test projects as a linked
/// source file (tests/Shared). It measures <see cref="Rounds"/> rounds with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> and fails when every round allocated: an allocation per call
/// shows in each round, while the runtime's one-off work on the test thread (tiered compilation starting its
/// background worker once allocated 3736 B inside a single measured round and failed a CI run) lands in one at most.
/// </summary>
internal static class AllocationAssert
{
    /// <summary>How many rounds are measured.</summary>
    public const int Rounds = 3;

    /// <summary>
    /// Runs <paramref name="round"/> <see cref="Rounds"/> times on this thread, measuring each, and fails when every
    /// round allocated. Warm the code up first (the first calls fill caches and compile); give each round many calls,
    /// so that an allocation every few calls lands in every round too.
    /// </summary>
    /// <param name="round">One round of calls; the delegate is made by the caller, so it is not counted.</param>
    /// <param name="what">What a round does, for the failure message.</param>
    public static void NothingPerRound(Action round, string what = "a round")
    {
        ArgumentNullException.ThrowIfNull(round);
        long first = Measure(round);
        long second = Measure(round);
        long third = Measure(round);
        if (first > 0 && second > 0 && third > 0)
        {
            Assert.Fail($"{what} allocated in each of {Rounds} rounds ({first}, {second}, {third} bytes): something allocates per call");
        }
    }

    private static long Measure(Action round)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        round();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
