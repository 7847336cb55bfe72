using System.Security.Cryptography;

namespace Tempus.Native.Tests;

/// <summary>The EVP cipher bindings AES-CMAC and the AEADs build on, checked against .NET's AES.</summary>
public sealed class CryptoEvpCipherTests
{
    [Fact]
    public void LibCryptoIsSupportedOnThisMachine()
    {
        Assert.True(Interop.Crypto.IsSupported, Interop.Crypto.UnsupportedReason);
        Interop.Crypto.EnsureSupported();
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public void EcbContextEncryptsBlocksLikeDotNetAes(int keyLength)
    {
        byte[] key = RandomNumberGenerator.GetBytes(keyLength);
        byte[] blocks = RandomNumberGenerator.GetBytes(64);
        nint cipher = keyLength == 16 ? Interop.Crypto.EvpAes128Ecb() : Interop.Crypto.EvpAes256Ecb();
        using SafeEvpCipherCtxHandle ctx = Interop.Crypto.EvpCipherCreateEncryptor(cipher, key, default);
        byte[] output = new byte[64];
        Interop.Crypto.EvpEncryptUpdate(ctx, blocks, output);

        using var aes = Aes.Create();
        aes.Key = key;
        Assert.Equal(aes.EncryptEcb(blocks, PaddingMode.None), output);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public void CbcContextChainsAcrossCallsInPlaceAndRestartsWithResetIv(int keyLength)
    {
        byte[] key = RandomNumberGenerator.GetBytes(keyLength);
        byte[] iv = RandomNumberGenerator.GetBytes(16);
        byte[] plaintext = RandomNumberGenerator.GetBytes(96);
        nint cipher = keyLength == 16 ? Interop.Crypto.EvpAes128Cbc() : Interop.Crypto.EvpAes256Cbc();
        using SafeEvpCipherCtxHandle ctx = Interop.Crypto.EvpCipherCreateEncryptor(cipher, key, iv);
        using var aes = Aes.Create();
        aes.Key = key;
        byte[] expected = aes.EncryptCbc(plaintext, iv, PaddingMode.None);

        for (int round = 0; round < 2; round++)
        {
            byte[] buffer = (byte[])plaintext.Clone();
            Interop.Crypto.EvpEncryptUpdate(ctx, buffer.AsSpan(0, 32), buffer.AsSpan(0, 32));
            Interop.Crypto.EvpEncryptUpdate(ctx, buffer.AsSpan(32), buffer.AsSpan(32));
            Assert.Equal(expected, buffer);
            Interop.Crypto.EvpEncryptResetIv(ctx, iv);
        }
    }

    [Fact]
    public void PartialBlockIsRefusedAsMisuse()
    {
        using SafeEvpCipherCtxHandle ctx = Interop.Crypto.EvpCipherCreateEncryptor(Interop.Crypto.EvpAes128Ecb(), new byte[16], default);
        var e = Assert.Throws<ArgumentException>(() => Interop.Crypto.EvpEncryptUpdate(ctx, new byte[20], new byte[32]));
        Assert.StartsWith("EVP_EncryptUpdate wrote 16 of 20 bytes", e.Message);
        Assert.Throws<ArgumentException>(() => Interop.Crypto.EvpEncryptUpdate(ctx, new byte[32], new byte[16]));
    }

    [Fact]
    public void MissingCipherIsReportedThroughTheErrorQueuePath()
    {
        CryptographicException e = Assert.ThrowsAny<CryptographicException>(() => Interop.Crypto.EvpCipherCreateEncryptor(0, new byte[16], default));
        Assert.Contains("EVP_aes_*", e.Message);
    }
}
