using Tempus.Config;
using Tempus.Selection;
using Tempus.Sources;

namespace Tempus.Tests.Config;

public sealed class ConfigSourceTests
{
    private const string File = "/etc/tempus/tempus.conf";

    private static TempusConfiguration Parse(string text, out IReadOnlyList<ConfigError> errors)
        => ConfigParser.Parse(text, File, out errors);

    private static TempusConfiguration ParseOk(string text)
    {
        TempusConfiguration config = Parse(text, out IReadOnlyList<ConfigError> errors);
        Assert.Empty(errors);
        return config;
    }

    private static string[] Errors(string text)
    {
        Parse(text, out IReadOnlyList<ConfigError> errors);
        return errors.Select(e => e.ToString()).ToArray();
    }

    [Fact]
    public void ServerWithoutOptionsHasChronysDefaults()
    {
        SourceDefinition source = Assert.Single(ParseOk("server ntp1.example.net\n").Sources);
        Assert.Equal(SourceKind.Server, source.Kind);
        Assert.Equal("ntp1.example.net", source.Host);
        Assert.Equal(123, source.Port);
        Assert.False(source.IBurst);
        Assert.False(source.Nts);
        Assert.Equal(4460, source.NtsPort);
        Assert.Equal(0, source.CertSet);
        Assert.Null(source.KeyId);
        Assert.Equal(6, source.MinPoll);
        Assert.Equal(10, source.MaxPoll);
        Assert.Equal(SourceSelectOptions.None, source.SelectOptions);
        Assert.Equal(3.0, source.MaxDelay);
        Assert.Equal(4, source.Version);
        Assert.Equal(File, source.FileName);
        Assert.Equal(1, source.Line);
        Assert.Equal(SourceAuthentication.None, source.Authentication);
    }

    [Fact]
    public void EveryServerOptionIsRead()
    {
        TempusConfiguration config = ParseOk("""
            ntstrustedcerts 2 /etc/tempus/ca2.pem
            keyfile /etc/tempus/keys
            server nts.example.net iburst nts ntsport 14460 certset 2 minpoll -2 maxpoll 8 prefer trust require maxdelay 0.25 port 10123 version 3
            server 192.0.2.1 key 42 noselect
            server 2001:db8::1 MINPOLL 4 IBurst
            """);

        Assert.Collection(
            config.Sources,
            s =>
            {
                Assert.Equal("nts.example.net", s.Host);
                Assert.True(s.IBurst);
                Assert.True(s.Nts);
                Assert.Equal(14460, s.NtsPort);
                Assert.Equal(2, s.CertSet);
                Assert.Equal(-2, s.MinPoll);
                Assert.Equal(8, s.MaxPoll);
                Assert.Equal(SourceSelectOptions.Prefer | SourceSelectOptions.Trust | SourceSelectOptions.Require, s.SelectOptions);
                Assert.Equal(0.25, s.MaxDelay);
                Assert.Equal(10123, s.Port);
                Assert.Equal(3, s.Version);
                Assert.Equal(3, s.Line);
                Assert.Equal(SourceAuthentication.Nts, s.Authentication);
            },
            s =>
            {
                Assert.Equal("192.0.2.1", s.Host);
                Assert.Equal(42u, s.KeyId);
                Assert.Equal(SourceSelectOptions.NoSelect, s.SelectOptions);
                Assert.Equal(SourceAuthentication.SymmetricKey, s.Authentication);
                Assert.Equal(4, s.Line);
            },
            s =>
            {
                Assert.Equal("2001:db8::1", s.Host);
                Assert.Equal(4, s.MinPoll);
                Assert.True(s.IBurst);
            });
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void PoolReadsMaxSources()
    {
        SourceDefinition pool = Assert.Single(ParseOk("pool 2.debian.pool.ntp.org iburst maxsources 3\n").Sources);
        Assert.Equal(SourceKind.Pool, pool.Kind);
        Assert.Equal(3, pool.MaxSources);
        Assert.Equal(4, ParseOk("pool pool.example.net\n").Sources[0].MaxSources);
    }

    [Fact]
    public void EveryBadOptionOfOneLineIsReportedAndTheLineAddsNoSource()
    {
        TempusConfiguration config = Parse(
            "server ntp.example.net minpoll -7 maxpoll 25 version 5 port 0 maxdelay 1001 key 0 certset x ntsport 70000 bogus\n",
            out IReadOnlyList<ConfigError> errors);

        Assert.Empty(config.Sources);
        Assert.Equal(
            [
                $"{File}:1: server: minpoll -7 out of range -6-24",
                $"{File}:1: server: maxpoll 25 out of range -6-24",
                $"{File}:1: server: version 5 out of range 1-4",
                $"{File}:1: server: port 0 out of range 1-65535",
                $"{File}:1: server: maxdelay 1001 out of range 0-1000",
                $"{File}:1: server: key id 0 out of range 1-4294967295",
                $"{File}:1: server: bad certset 'x': not an integer",
                $"{File}:1: server: ntsport 70000 out of range 1-65535",
                $"{File}:1: server: unknown option 'bogus'",
            ],
            errors.Select(e => e.ToString()));
    }

    [Theory]
    [InlineData("pool pool.example.net maxsources 0", "pool: maxsources 0 out of range 1-16")]
    [InlineData("pool pool.example.net maxsources 17", "pool: maxsources 17 out of range 1-16")]
    [InlineData("server ntp.example.net maxsources 2", "server: maxsources is an option of pool, not of server")]
    [InlineData("server ntp.example.net minpoll 8 maxpoll 7", "server: minpoll 8 is larger than maxpoll 7")]
    [InlineData("server ntp.example.net key 5 nts", "server: nts and key cannot be used together: a source is authenticated either with NTS or with a symmetric key")]
    [InlineData("server ntp.example.net maxdelay 0", "server: maxdelay 0 out of range: must be larger than 0 (and at most 1000 s)")]
    [InlineData("server ntp.example.net maxdelay", "server: option 'maxdelay' needs a value")]
    [InlineData("server ntp.example.net key -1", "server: bad key id '-1': not an unsigned 32-bit integer")]
    [InlineData("server", "server: missing host name")]
    [InlineData("pool", "pool: missing pool name")]
    [InlineData("peer ntp.example.net key 1", "peer: symmetric active mode (peer) is not supported; use server")]
    [InlineData("server ntp.example.net asymmetry 0.6", "server: asymmetry 0.6 out of range -0.5-0.5")]
    [InlineData("server ntp.example.net extfield XYZ", "server: bad extfield 'XYZ': not a hexadecimal extension field type")]
    [InlineData("server ntp.example.net presend x", "server: bad presend 'x': not an integer")]
    public void BadSourceLinesAreErrors(string line, string message)
    {
        TempusConfiguration config = Parse("# sources\n" + line + "\n", out IReadOnlyList<ConfigError> errors);
        ConfigError error = Assert.Single(errors);
        Assert.Equal($"{File}:2: {message}", error.ToString());
        Assert.Empty(config.Sources);
    }

    [Theory]
    [InlineData("ntp.example.net")]
    [InlineData("ntp.example.net.")]
    [InlineData("time-a.example_internal.lan")]
    [InlineData("localhost")]
    [InlineData("192.0.2.7")]
    [InlineData("::1")]
    [InlineData("fe80::1%eth0")]
    [InlineData("2001:db8:0:1::123")]
    public void PlausibleHostsAreAccepted(string host)
    {
        Assert.Equal(host, Assert.Single(ParseOk($"server {host}\n").Sources).Host);
    }

    [Theory]
    [InlineData("ntp..example.net", "a dot-separated label is empty")]
    [InlineData("-ntp.example.net", "a label starts or ends with '-'")]
    [InlineData("ntp.exa$mple.net", "character '$'")]
    [InlineData("ntp.example.net:123", "is not a valid IPv6 address or host name")]
    [InlineData("[2001:db8::1]", "write an IPv6 address without brackets")]
    [InlineData("192.0.2.999", "is not a valid IPv4 address")]
    [InlineData("2001:db8::g", "is not a valid IPv6 address or host name")]
    [InlineData(".", "a dot-separated label is empty")]
    public void ImplausibleHostsAreErrors(string host, string reason)
    {
        ConfigError error = Assert.Single(GetErrors($"server {host} iburst\n"));
        Assert.Equal(1, error.Line);
        Assert.StartsWith("server: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHostLongerThan253CharactersIsAnError()
    {
        string host = string.Join('.', Enumerable.Repeat(new string('a', 60), 5));
        ConfigError error = Assert.Single(GetErrors($"server {host}\n"));
        Assert.Equal("server: host name is 304 characters long, more than 253", error.Message);
    }

    [Fact]
    public void IgnoredChronyOptionsAreReadAndWarnedAboutOncePerLine()
    {
        TempusConfiguration config = ParseOk("""
            server ntp.example.net iburst burst offline auto_offline presend 9 minstratum 3 polltarget 30 maxdelayratio 2.5 maxdelaydevratio 10 mindelay 0.001 asymmetry -0.2 offset 0.0001 filter 4 xleave copy extfield F323 maxsamples 16 minsamples 4 maxunreach 10 ipv4
            """);

        SourceDefinition source = Assert.Single(config.Sources);
        Assert.True(source.IBurst);
        ConfigError warning = Assert.Single(config.Warnings);
        Assert.Equal(
            $"{File}:1: server: ntp.example.net: ignored options burst, offline, auto_offline, presend, minstratum, polltarget, maxdelayratio, maxdelaydevratio, mindelay, asymmetry, offset, filter, xleave, copy, extfield, maxsamples, minsamples, maxunreach, ipv4: Tempus does not implement them",
            warning.ToString());
    }

    [Fact]
    public void MinpollAloneAboveTheDefaultMaxpollRaisesMaxpollAsChronyDoes()
    {
        TempusConfiguration config = ParseOk("server ntp.example.net minpoll 12\nserver ntp2.example.net maxpoll 4\n");
        Assert.Equal((12, 12), (config.Sources[0].MinPoll, config.Sources[0].MaxPoll));
        Assert.Equal((6, 6), (config.Sources[1].MinPoll, config.Sources[1].MaxPoll));
        ConfigError warning = Assert.Single(config.Warnings);
        Assert.Equal(2, warning.Line);
        Assert.Contains("maxpoll 4 is below the default minpoll 6: maxpoll raised to 6", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyOutsideTrustedkeyIsAnErrorAtTheSourceLine()
    {
        Assert.Equal(
            [$"{File}:3: server ntp2.example.net: key 7 is not a trustedkey: add it to trustedkey, or use a trusted key"],
            Errors("trustedkey 1-5\nserver ntp1.example.net key 3\nserver ntp2.example.net key 7\nkeyfile /etc/tempus/keys\n"));
        Assert.Empty(Errors("keyfile /etc/tempus/keys\nserver ntp2.example.net key 7\n"));
    }

    [Fact]
    public void AKeyWithoutAKeyfileIsAnError()
    {
        Assert.Equal(
            [$"{File}:1: server ntp.example.net: key 7 but no keyfile is configured: add 'keyfile FILE' holding key 7"],
            Errors("server ntp.example.net key 7\n"));
    }

    [Fact]
    public void AnUndefinedCertsetIsAnError()
    {
        Assert.Equal(
            [$"{File}:1: server nts.example.net: certset 3 is not defined: add 'ntstrustedcerts 3 FILE|DIR'"],
            Errors("server nts.example.net nts certset 3\nntstrustedcerts 1 /etc/ca1.pem\n"));
        Assert.Empty(Errors("server nts.example.net nts certset 1\nntstrustedcerts 1 /etc/ca1.pem\n"));
    }

    [Fact]
    public void NtsWithNosystemcertNeedsTrustedCertsForItsSet()
    {
        Assert.Equal(
            [$"{File}:2: server nts.example.net: no CA trusted for certset 0: nosystemcert removes the system CAs, so add 'ntstrustedcerts FILE|DIR'"],
            Errors("nosystemcert\nserver nts.example.net nts\nserver plain.example.net\n"));
        Assert.Empty(Errors("nosystemcert\nntstrustedcerts /etc/tempus/ca.pem\nserver nts.example.net nts\n"));
        Assert.Empty(Errors("server nts.example.net nts\n"));
    }

    [Fact]
    public void MinsourcesAboveTheSelectableSourcesIsAWarningAtItsLine()
    {
        TempusConfiguration config = ParseOk("minsources 3\nserver a.example.net\nserver b.example.net\nserver c.example.net noselect\n");
        ConfigError warning = Assert.Single(config.Warnings);
        Assert.Equal($"{File}:1: minsources 3 is more than the 2 selectable sources configured: the clock will never be updated", warning.ToString());

        Assert.Empty(ParseOk("minsources 3\npool pool.example.net\n").Warnings);
        Assert.Single(ParseOk("minsources 3\npool pool.example.net maxsources 2\n").Warnings);
    }

    [Fact]
    public void AnExplicitMinsourcesWithNoSourcesIsAWarningButTheDefaultIsNot()
    {
        Assert.Empty(ParseOk("allow 10.0.0.0/8\n").Warnings);
        Assert.Equal($"{File}:1: minsources 1 is more than the 0 selectable sources configured: the clock will never be updated", Assert.Single(ParseOk("minsources 1\n").Warnings).ToString());
    }

    [Fact]
    public void TheSameServerTwiceIsAWarningNamingTheFirst()
    {
        TempusConfiguration config = ParseOk("server ntp.example.net\nserver NTP.example.net iburst\nserver ntp.example.net port 1123\npool ntp.example.net\n");
        Assert.Equal(4, config.Sources.Count);
        Assert.Equal($"{File}:2: server NTP.example.net is already configured at {File}:1; only one of them will be used", Assert.Single(config.Warnings).ToString());
    }

    private static IReadOnlyList<ConfigError> GetErrors(string text)
    {
        Parse(text, out IReadOnlyList<ConfigError> errors);
        return errors;
    }
}
