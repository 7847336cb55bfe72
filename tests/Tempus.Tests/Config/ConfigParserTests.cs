using System.Net;
using Tempus.Config;

namespace Tempus.Tests.Config;

public sealed class ConfigParserTests
{
    private static TempusConfiguration ParseOk(string text)
    {
        TempusConfiguration config = ConfigParser.Parse(text, "/etc/tempus/tempus.conf", out IReadOnlyList<ConfigError> errors);
        Assert.Empty(errors);
        return config;
    }

    private static IReadOnlyList<ConfigError> ParseErrors(string text)
    {
        ConfigParser.Parse(text, "/etc/tempus/tempus.conf", out IReadOnlyList<ConfigError> errors);
        return errors;
    }

    [Fact]
    public void ChronyStyleServerDirectivesAreRead()
    {
        TempusConfiguration config = ParseOk("""
            # a comment
            ! another comment
            port 11123
            bindaddress 127.0.0.7
            bindaddress ::1
            keyfile keys/tempus.keys
            trustedkey 1 3-5
            trustedkey 11
            local stratum 8
            allow 127.0.0.0/8
            cryptonak
            """);

        Assert.Equal(11123, config.Port);
        Assert.Equal(IPAddress.Parse("127.0.0.7"), config.BindAddress);
        Assert.Equal(IPAddress.IPv6Loopback, config.BindAddress6);
        Assert.Equal("/etc/tempus/keys/tempus.keys", config.KeyFile);
        Assert.Equal(new uint[] { 1, 3, 4, 5, 11 }, config.TrustedKeys!.Order());
        Assert.Equal(8, config.LocalStratum);
        Assert.True(config.CryptoNak);
        Assert.True(config.NtpAccess.IsAllowed(IPAddress.Parse("127.1.2.3")));
    }

    [Fact]
    public void DefaultsAreChronys()
    {
        TempusConfiguration config = ParseOk("");
        Assert.Equal(123, config.Port);
        Assert.Null(config.TrustedKeys);
        Assert.Null(config.LocalStratum);
        Assert.False(config.CryptoNak);
        Assert.False(config.NtpAccess.IsAllowed(IPAddress.Loopback));
    }

    [Fact]
    public void LocalWithoutStratumMeansStratumTen()
    {
        Assert.Equal(10, ParseOk("local").LocalStratum);
    }

    [Fact]
    public void EveryErrorIsReportedWithItsLine()
    {
        IReadOnlyList<ConfigError> errors = ParseErrors("""
            port 123
            frobnicate yes
            port 70000
            bindaddress not-an-address
            local stratum 16
            allow 10.0.0.0/33
            trustedkey x
            cryptonak please
            keyfile
            """);

        Assert.Collection(
            errors,
            e => Assert.Equal("/etc/tempus/tempus.conf:2: unknown directive 'frobnicate'", e.ToString()),
            e => Assert.Equal("/etc/tempus/tempus.conf:3: port: port 70000 out of range 0-65535", e.ToString()),
            e => Assert.Equal("/etc/tempus/tempus.conf:4: bindaddress: 'not-an-address' is not an IP address", e.ToString()),
            e => Assert.Equal("/etc/tempus/tempus.conf:5: local: stratum 16 out of range 1-15", e.ToString()),
            e => Assert.Equal("/etc/tempus/tempus.conf:6: allow: prefix length 33 out of range 0-32 in subnet '10.0.0.0/33'", e.ToString()),
            e => Assert.Equal("/etc/tempus/tempus.conf:7: trustedkey: bad key id 'x': not an unsigned 32-bit integer", e.ToString()),
            e => Assert.Equal("/etc/tempus/tempus.conf:8: cryptonak: takes no arguments", e.ToString()),
            e => Assert.Equal("/etc/tempus/tempus.conf:9: keyfile: missing argument", e.ToString()));
    }

    [Fact]
    public void OverlongLinesAndNulBytesAreRejected()
    {
        IReadOnlyList<ConfigError> errors = ParseErrors("port 1" + new string(' ', ConfigParser.MaxLineLength) + "\nport\0 5\n");
        Assert.Equal(2, errors.Count);
        Assert.Contains("limit", errors[0].Message, StringComparison.Ordinal);
        Assert.Equal(2, errors[1].Line);
        Assert.Contains("NUL", errors[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFileIsOneErrorNamingTheFile()
    {
        ConfigParser.Check("/nonexistent/tempus.conf", out IReadOnlyList<ConfigError> errors);
        ConfigError error = Assert.Single(errors);
        Assert.Equal("/nonexistent/tempus.conf: cannot read configuration: No such file or directory", error.ToString());
    }

    [Fact]
    public void LoadThrowsWithEveryError()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tempus-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "bogus\nport x\n");
        try
        {
            ConfigurationException e = Assert.Throws<ConfigurationException>(() => ConfigParser.Load(path));
            Assert.Equal(2, e.Errors.Count);
            Assert.Contains($"{path}:1: unknown directive 'bogus'", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NtsDirectivesReadLikeChrony()
    {
        TempusConfiguration config = ParseOk("""
            ntsservercert /etc/tempus/a.crt
            ntsserverkey /etc/tempus/a.key
            ntsservercert b.crt
            ntsserverkey b.key
            ntsport 14460
            ntsntpserver time.example.net
            ntsdumpdir /var/lib/tempus
            ntsrotate 0
            ntstrustedcerts /etc/tempus/ca.crt
            ntstrustedcerts 1 /etc/tempus/ca.d
            nosystemcert
            nocerttimecheck 2
            ntsrefresh 3600
            maxntsconnections 20
            """);

        Assert.True(config.IsNtsServer);
        Assert.Equal(["/etc/tempus/a.crt", "/etc/tempus/b.crt"], config.NtsServerCertificates);
        Assert.Equal(["/etc/tempus/a.key", "/etc/tempus/b.key"], config.NtsServerKeys);
        Assert.Equal(14460, config.NtsPort);
        Assert.Equal("time.example.net", config.NtsNtpServer);
        Assert.Equal("/var/lib/tempus", config.NtsDumpDirectory);
        Assert.Equal(0, config.NtsRotateSeconds);
        Assert.Equal(["/etc/tempus/ca.crt"], config.NtsTrustedCertificates[0]);
        Assert.Equal(["/etc/tempus/ca.d"], config.NtsTrustedCertificates[1]);
        Assert.True(config.NoSystemCertificates);
        Assert.Equal(2, config.NoCertTimeCheckUpdates);
        Assert.Equal(3600, config.NtsRefreshSeconds);
        Assert.Equal(20, config.MaxNtsConnections);
    }

    [Fact]
    public void NtsDefaultsAreChronys()
    {
        TempusConfiguration config = ParseOk("");
        Assert.False(config.IsNtsServer);
        Assert.Equal(4460, config.NtsPort);
        Assert.Equal(604800, config.NtsRotateSeconds);
        Assert.Equal(1209600, config.NtsRefreshSeconds);
        Assert.Null(config.NtsDumpDirectory);
    }

    [Fact]
    public void ACertificateWithoutItsKeyIsAnError()
    {
        ConfigError error = Assert.Single(ParseErrors("ntsservercert a.crt\nntsservercert b.crt\nntsserverkey a.key\n"));
        Assert.Contains("2 ntsservercert but 1 ntsserverkey", error.Message, StringComparison.Ordinal);
    }
}
