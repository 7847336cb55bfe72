using Tempus.Auth;

namespace Tempus.Tests.Auth;

public sealed class KeyRingTests
{
    private const string Keys = """
        1 AES128 HEX:000102030405060708090a0b0c0d0e0f
        2 SHA1 HEX:00112233445566778899aabbccddeeff00112233
        3 SHA256 HEX:00112233445566778899aabbccddeeff00112233
        """;

    [Fact]
    public void WithoutATrustedSetEveryKeyIsUsable()
    {
        using KeyRing ring = Load();
        Assert.Equal(3, ring.Count);
        Assert.Equal(new uint[] { 1, 2, 3 }, ring.Keys.Select(k => k.Id).Order());
        foreach (uint id in new uint[] { 1, 2, 3 })
        {
            Assert.True(ring.IsTrusted(id));
            Assert.True(ring.TryGetKey(id, out SymmetricKey? key));
            Assert.Equal(id, key.Id);
        }

        Assert.False(ring.TryGetKey(4, out SymmetricKey? missing));
        Assert.Null(missing);
    }

    [Fact]
    public void TrustedSetLimitsTheUsableKeys()
    {
        using KeyRing ring = Load();
        ring.SetTrustedKeys([1, 3, 99]);
        Assert.True(ring.TryGetKey(1, out _));
        Assert.False(ring.TryGetKey(2, out SymmetricKey? untrusted));
        Assert.Null(untrusted);
        Assert.True(ring.TryGetKey(3, out _));
        Assert.False(ring.TryGetKey(99, out _));
        Assert.False(ring.IsTrusted(2));
        Assert.True(ring.IsTrusted(99));

        // Untrusted keys stay in the ring, for reporting.
        Assert.Equal(3, ring.Count);

        ring.SetTrustedKeys([]);
        Assert.False(ring.TryGetKey(1, out _));

        ring.SetTrustedKeys(null);
        Assert.True(ring.TryGetKey(2, out _));
    }

    [Fact]
    public void LoadReadsTheFileAndReportsWarnings()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("keys", "1 MD5 HEX:00112233445566778899\n");
        var warnings = new List<KeyFileWarning>();
        using KeyRing ring = KeyRing.Load(path, warnings);
        Assert.True(ring.TryGetKey(1, out SymmetricKey? key));
        Assert.Equal($"{path}:1", key.Origin);
        Assert.Contains(warnings, w => w.Message.Contains("MD5 is deprecated", StringComparison.Ordinal));
    }

    [Fact]
    public void DuplicateIdsAreRefused()
    {
        using var a = SymmetricKeyTests.NewKey(5, MacAlgorithm.Sha1);
        using var b = SymmetricKeyTests.NewKey(5, MacAlgorithm.Aes128Cmac);
        var e = Assert.Throws<ArgumentException>(() => new KeyRing([a, b]));
        Assert.StartsWith("duplicate key id 5", e.Message);
    }

    [Fact]
    public void DisposingTheRingWipesItsKeys()
    {
        KeyRing ring = Load();
        Assert.True(ring.TryGetKey(2, out SymmetricKey? key));
        ring.Dispose();
        Assert.Throws<ObjectDisposedException>(() => key.ComputeDigest([], new byte[20]));
    }

    [Fact]
    public async Task ConcurrentLookupsWhileTheTrustedSetChangesNeverFail()
    {
        using KeyRing ring = Load();
        using var stop = new CancellationTokenSource();
        Task writer = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                ring.SetTrustedKeys([1]);
                ring.SetTrustedKeys(null);
            }
        });
        Parallel.For(0, 100_000, i =>
        {
            Assert.True(ring.TryGetKey(1, out _));
            ring.TryGetKey(2, out _);
        });
        stop.Cancel();
        await writer;
    }

    private static KeyRing Load() => new(KeyFile.Parse(Keys, "keys", []));
}
