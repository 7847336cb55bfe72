using Tempus.Auth;

namespace Tempus.Tests.Auth;

public sealed class MacAlgorithmsTests
{
    [Theory]
    [InlineData(MacAlgorithm.Md5, 16, "MD5", "MD5", 0, true)]
    [InlineData(MacAlgorithm.Sha1, 20, "SHA1", "SHA1", 0, false)]
    [InlineData(MacAlgorithm.Sha256, 20, "SHA256", "SHA256", 0, false)]
    [InlineData(MacAlgorithm.Sha384, 20, "SHA384", "SHA384", 0, false)]
    [InlineData(MacAlgorithm.Sha512, 20, "SHA512", "SHA512", 0, false)]
    [InlineData(MacAlgorithm.Aes128Cmac, 16, "AES128", "AES128CMAC", 16, false)]
    [InlineData(MacAlgorithm.Aes256Cmac, 16, "AES256", "AES-256", 32, false)]
    public void PropertiesMatchChronyAndNtpsec(MacAlgorithm algorithm, int digestLength, string chrony, string ntpKeys, int keyLength, bool weak)
    {
        Assert.Equal(digestLength, MacAlgorithms.DigestLength(algorithm));
        Assert.Equal(digestLength + 4, MacAlgorithms.MacLength(algorithm));
        Assert.Equal(chrony, MacAlgorithms.ChronyName(algorithm));
        Assert.Equal(ntpKeys, MacAlgorithms.NtpKeysName(algorithm));
        Assert.Equal(keyLength, MacAlgorithms.RequiredKeyLength(algorithm));
        Assert.Equal(weak, MacAlgorithms.IsWeak(algorithm));
        Assert.True(MacAlgorithms.TryParse(chrony, out MacAlgorithm fromChrony));
        Assert.Equal(algorithm, fromChrony);
        Assert.True(MacAlgorithms.TryParse(ntpKeys, out MacAlgorithm fromNtp));
        Assert.Equal(algorithm, fromNtp);
    }

    [Theory]
    [InlineData("m", MacAlgorithm.Md5)]
    [InlineData("md5", MacAlgorithm.Md5)]
    [InlineData("Sha1", MacAlgorithm.Sha1)]
    [InlineData("AES", MacAlgorithm.Aes128Cmac)]
    [InlineData("aes128cmac", MacAlgorithm.Aes128Cmac)]
    [InlineData("AES-128", MacAlgorithm.Aes128Cmac)]
    [InlineData("AES256CMAC", MacAlgorithm.Aes256Cmac)]
    [InlineData("aes256", MacAlgorithm.Aes256Cmac)]
    public void AliasesParseCaseInsensitively(string name, MacAlgorithm expected)
    {
        Assert.True(MacAlgorithms.TryParse(name, out MacAlgorithm algorithm));
        Assert.Equal(expected, algorithm);
    }

    [Theory]
    [InlineData("SHA")]
    [InlineData("RIPEMD160")]
    [InlineData("FOO")]
    [InlineData("")]
    [InlineData("MD")]
    public void UnknownAndInsecureNamesDoNotParse(string name)
    {
        Assert.False(MacAlgorithms.TryParse(name, out _));
    }

    [Fact]
    public void UndefinedValueIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MacAlgorithms.DigestLength((MacAlgorithm)99));
    }
}
