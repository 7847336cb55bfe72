using Tempus.Nts;

namespace Tempus.Tests.Nts.Ke;

/// <summary>RFC 8915 §4.2 retry intervals, on a clock the test moves.</summary>
public sealed class NtsKeBackoffTests
{
    private static readonly DateTimeOffset s_start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    // RFC 8915 §4.2: t = min(10 * 1.5^(n-1), 432000) seconds for the n-th retry.
    [Theory]
    [InlineData(1, 10.0)]
    [InlineData(2, 15.0)]
    [InlineData(3, 22.5)]
    [InlineData(4, 33.75)]
    [InlineData(10, 384.43359375)]
    [InlineData(26, 252511.68294)]
    [InlineData(27, 378767.52441)]
    [InlineData(28, 432000.0)]
    [InlineData(1000, 432000.0)]
    [InlineData(int.MaxValue, 432000.0)]
    public void IntervalsFollowRfc8915Section42(int retry, double seconds)
    {
        var backoff = new NtsKeBackoff(new ManualTimeProvider(s_start));

        Assert.Equal(seconds, backoff.GetInterval(retry).TotalSeconds, precision: 3);
    }

    [Fact]
    public void EachFailureMovesTheNextAttemptFurtherOut()
    {
        var clock = new ManualTimeProvider(s_start);
        var backoff = new NtsKeBackoff(clock);
        Assert.True(backoff.IsAttemptAllowed);
        Assert.Null(backoff.NextAttemptTime);

        Assert.Equal(TimeSpan.FromSeconds(10), backoff.RecordFailure());
        Assert.Equal(s_start.AddSeconds(10), backoff.NextAttemptTime);
        Assert.False(backoff.IsAttemptAllowed);
        clock.Advance(TimeSpan.FromSeconds(9.999));
        Assert.Equal(TimeSpan.FromMilliseconds(1), backoff.GetRemainingDelay());
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(backoff.IsAttemptAllowed);

        Assert.Equal(TimeSpan.FromSeconds(15), backoff.RecordFailure());
        Assert.Equal(TimeSpan.FromSeconds(22.5), backoff.RecordFailure());
        Assert.Equal(3, backoff.Failures);
        Assert.Equal(TimeSpan.FromSeconds(22.5), backoff.GetRemainingDelay());
    }

    [Fact]
    public void IntervalStopsGrowingAtFiveDays()
    {
        var backoff = new NtsKeBackoff(new ManualTimeProvider(s_start));
        TimeSpan last = TimeSpan.Zero;
        for (int i = 0; i < 100; i++)
        {
            last = backoff.RecordFailure();
        }

        Assert.Equal(TimeSpan.FromDays(5), last);
    }

    [Fact]
    public void ResetAllowsAnAttemptAtOnce()
    {
        var backoff = new NtsKeBackoff(new ManualTimeProvider(s_start));
        backoff.RecordFailure();
        backoff.RecordFailure();

        backoff.Reset();

        Assert.True(backoff.IsAttemptAllowed);
        Assert.Equal(0, backoff.Failures);
        Assert.Equal(TimeSpan.FromSeconds(10), backoff.RecordFailure());
    }

    [Fact]
    public async Task WaitEndsWhenTheClockReachesTheNextAttempt()
    {
        var clock = new ManualTimeProvider(s_start);
        var backoff = new NtsKeBackoff(clock);
        backoff.RecordFailure();

        Task wait = backoff.WaitAsync();
        Assert.False(wait.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(wait.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(5));

        await wait.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task WaitWithoutFailureEndsAtOnce()
    {
        await new NtsKeBackoff(new ManualTimeProvider(s_start)).WaitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void CustomConstantsAreChecked()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtsKeBackoff(TimeSpan.Zero, TimeSpan.FromDays(1), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtsKeBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtsKeBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromDays(1), 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtsKeBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromDays(1), double.NaN));

        var doubling = new NtsKeBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60), 2, new ManualTimeProvider(s_start));
        Assert.Equal([1.0, 2, 4, 8, 16, 32, 60, 60], Enumerable.Range(1, 8).Select(n => doubling.GetInterval(n).TotalSeconds));
    }
}
