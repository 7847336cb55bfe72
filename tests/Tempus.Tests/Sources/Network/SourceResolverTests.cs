using System.Net;
using Tempus.Sources.Network;

namespace Tempus.Tests.Sources.Network;

/// <summary>The documented retry schedule for names that do not resolve, and literal addresses that need no lookup.</summary>
public sealed class SourceResolverTests
{
    // Initial 2 s doubling, capped at the minpoll interval (64 s) for 8 retries, then every maxpoll interval (1024 s).
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 4)]
    [InlineData(5, 32)]
    [InlineData(6, 64)]
    [InlineData(8, 64)]
    [InlineData(9, 1024)]
    [InlineData(500, 1024)]
    public void FailedLookupsAreRetriedFastUpToTheMinpollIntervalThenEveryMaxpollInterval(int failures, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), SourceResolver.RetryDelay(failures, TimeSpan.FromSeconds(2), 6, 10));
    }

    [Fact]
    public void TheSlowRetryIntervalStaysBetweenOneMinuteAndOneHour()
    {
        Assert.Equal(TimeSpan.FromSeconds(64), SourceResolver.RetryDelay(9, TimeSpan.FromSeconds(2), -2, -1));
        Assert.Equal(TimeSpan.FromHours(1), SourceResolver.RetryDelay(9, TimeSpan.FromSeconds(2), 6, 17));
    }

    [Fact]
    public void AFastRetryIsNeverShorterThanTheInitialDelayEvenWithASubSecondPoll()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), SourceResolver.RetryDelay(3, TimeSpan.FromSeconds(2), -4, 0));
    }

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("[2001:db8::1]", "2001:db8::1")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    public async Task AnAddressLiteralResolvesToItself(string host, string expected)
    {
        ResolveResult result = await SourceResolver.ResolveAsync(host, CancellationToken.None);
        Assert.Null(result.Error);
        Assert.Equal([IPAddress.Parse(expected)], result.Addresses);
    }
}
