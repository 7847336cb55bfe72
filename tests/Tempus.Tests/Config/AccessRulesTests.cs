using System.Net;
using Tempus.Config;

namespace Tempus.Tests.Config;

public sealed class AccessRulesTests
{
    private static AccessRules Rules(params (bool Allow, bool All, string? Subnet)[] rules)
    {
        var access = new AccessRules();
        foreach ((bool allow, bool all, string? subnet) in rules)
        {
            access.Add(allow, all, subnet is null ? null : AccessRules.TryParseSubnet(subnet, out _));
        }

        return access;
    }

    [Fact]
    public void NothingIsAllowedWithoutRules()
    {
        var access = new AccessRules();
        Assert.False(access.IsAllowed(IPAddress.Loopback));
        Assert.False(access.IsAllowed(IPAddress.IPv6Loopback));
    }

    [Fact]
    public void AllowWithoutSubnetAllowsIPv4AndIPv6()
    {
        AccessRules access = Rules((true, false, null));
        Assert.True(access.IsAllowed(IPAddress.Parse("192.0.2.1")));
        Assert.True(access.IsAllowed(IPAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void TheMostSpecificSubnetDecides()
    {
        AccessRules access = Rules((true, false, "10.0.0.0/8"), (false, false, "10.1.0.0/16"), (true, false, "10.1.2.3"));
        Assert.True(access.IsAllowed(IPAddress.Parse("10.9.9.9")));
        Assert.False(access.IsAllowed(IPAddress.Parse("10.1.9.9")));
        Assert.True(access.IsAllowed(IPAddress.Parse("10.1.2.3")));
        Assert.False(access.IsAllowed(IPAddress.Parse("11.0.0.1")));
    }

    [Fact]
    public void AllOverridesMoreSpecificEarlierRules()
    {
        // chrony: "deny all 10/8" after "allow 10.1/16" denies 10.1.x.x too.
        AccessRules access = Rules((true, false, "10.1"), (false, true, "10"));
        Assert.False(access.IsAllowed(IPAddress.Parse("10.1.2.3")));
    }

    [Fact]
    public void ALaterRuleForTheSameSubnetReplacesTheEarlierOne()
    {
        AccessRules access = Rules((true, false, "192.168.0.0/16"), (false, false, "192.168.0.0/16"));
        Assert.False(access.IsAllowed(IPAddress.Parse("192.168.1.1")));
    }

    [Theory]
    [InlineData("192.168", "192.168.0.0/16")]
    [InlineData("10", "10.0.0.0/8")]
    [InlineData("172.16.5", "172.16.5.0/24")]
    [InlineData("10.1.2.3/8", "10.0.0.0/8")]
    [InlineData("2001:db8::/32", "2001:db8::/32")]
    [InlineData("::1", "::1/128")]
    public void ShortenedAndPrefixedSubnetsParseLikeChrony(string text, string expected)
    {
        Assert.Equal(IPNetwork.Parse(expected), AccessRules.TryParseSubnet(text, out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("300.1.1.1")]
    [InlineData("1.2.3.4/40")]
    [InlineData("host name")]
    [InlineData("1.2.3.4/x")]
    [InlineData("::1/129")]
    public void BadSubnetsAreRejectedWithAReason(string text)
    {
        Assert.Null(AccessRules.TryParseSubnet(text, out string? error));
        Assert.Contains(text, error, StringComparison.Ordinal);
    }

    [Fact]
    public void IPv4MappedIPv6ClientsMatchIPv4Rules()
    {
        AccessRules access = Rules((true, false, "127.0.0.0/8"));
        Assert.True(access.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(access.IsAllowedIPv4(0x7F000001));
        Assert.False(access.IsAllowedIPv4(0x08080808));
    }
}
