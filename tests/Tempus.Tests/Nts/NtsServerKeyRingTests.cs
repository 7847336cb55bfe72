using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Testing;
using Tempus.Tests.Server;

namespace Tempus.Tests.Nts;

/// <summary>RFC 8915 §6 cookies: sealing, opening, rotation and the ntskeys file.</summary>
public sealed class NtsServerKeyRingTests : IDisposable
{
    private static readonly DateTime s_start = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"tempus-ntskeys-{Guid.NewGuid():N}");
    private readonly FakeClock _clock = new(s_start);

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private string KeyFile => Path.Combine(_directory, NtsServerKeyRing.FileName);

    private NtsServerKeyRing Open(int rotate = 604800) => NtsServerKeyRing.Open(_clock, rotate, _directory, NullLogger.Instance);

    private static (byte[] C2S, byte[] S2C) Keys(NtsAeadAlgorithm algorithm)
    {
        int length = NtsAead.GetKeyLength(algorithm);
        return (RandomNumberGenerator.GetBytes(length), RandomNumberGenerator.GetBytes(length));
    }

    private static byte[] Issue(NtsServerKeyRing ring, NtsAeadAlgorithm algorithm, byte[] c2s, byte[] s2c)
    {
        byte[] cookie = new byte[ring.MaxCookieLength];
        int length = ring.IssueCookie(algorithm, c2s, s2c, cookie);
        return cookie[..length];
    }

    private static bool Opens(NtsServerKeyRing ring, byte[] cookie) => ring.TryOpenCookie(cookie, new byte[128], out _, out _);

    [Theory]
    [MemberData(nameof(NtsTestSessions.Algorithms), MemberType = typeof(NtsTestSessions))]
    public void CookieOpensToTheAlgorithmAndKeysItWasIssuedFor(NtsAeadAlgorithm algorithm)
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        (byte[] c2s, byte[] s2c) = Keys(algorithm);

        byte[] cookie = Issue(ring, algorithm, c2s, s2c);
        byte[] keys = new byte[128];

        Assert.Equal(NtsServerKeyRing.GetCookieLength(algorithm), cookie.Length);
        Assert.Equal(0, cookie.Length % 4);
        Assert.Equal(ring.CurrentKeyId, BinaryPrimitives.ReadUInt32BigEndian(cookie));
        Assert.True(ring.TryOpenCookie(cookie, keys, out NtsAeadAlgorithm opened, out int keyLength));
        Assert.Equal(algorithm, opened);
        Assert.Equal(c2s, keys[..keyLength]);
        Assert.Equal(s2c, keys[keyLength..(2 * keyLength)]);
    }

    [Fact]
    public void AeadFifteenCookieIsOneHundredAndFourBytes()
    {
        // key id 4 + nonce 16 + tag 16 + AEAD id and zero 4 + two 32-byte keys.
        Assert.Equal(104, NtsServerKeyRing.GetCookieLength(NtsAeadAlgorithm.AesSivCmac256));
    }

    [Fact]
    public void TwoCookiesForTheSameKeysDiffer()
    {
        // RFC 8915 §9.1: cookies must not link a client's requests.
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        Assert.NotEqual(Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c), Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(19)]
    [InlineData(20)]
    [InlineData(60)]
    [InlineData(103)]
    public void CookieWithAnyByteAlteredDoesNotOpen(int index)
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        byte[] cookie = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        cookie[index] ^= 0x01;
        byte[] keys = new byte[128];

        Assert.False(ring.TryOpenCookie(cookie, keys, out _, out int keyLength));
        Assert.Equal(0, keyLength);
        Assert.All(keys, b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(39)]
    [InlineData(103)]
    [InlineData(105)]
    [InlineData(108)]
    [InlineData(1000)]
    public void CookieOfAnotherLengthDoesNotOpen(int length)
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        byte[] cookie = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        byte[] resized = new byte[length];
        cookie.AsSpan(0, Math.Min(length, cookie.Length)).CopyTo(resized);

        Assert.False(Opens(ring, resized));
    }

    [Fact]
    public void CookieFromAnotherServerDoesNotOpen()
    {
        using NtsServerKeyRing ours = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        using NtsServerKeyRing theirs = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);

        Assert.False(Opens(ours, Issue(theirs, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c)));
    }

    [Fact]
    public void CookieWithOurKeyIdButAnotherServersSealDoesNotOpen()
    {
        using NtsServerKeyRing ours = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        using NtsServerKeyRing theirs = NtsServerKeyRing.CreateEphemeral(_clock, 604800);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        byte[] cookie = Issue(theirs, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        BinaryPrimitives.WriteUInt32BigEndian(cookie, ours.CurrentKeyId);

        Assert.False(Opens(ours, cookie));
    }

    [Fact]
    public void CookieFromThePreviousKeysOpensUntilTheKeyIsRotatedOut()
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 3600);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        byte[] first = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        uint firstKey = ring.CurrentKeyId;

        _clock.Advance(TimeSpan.FromMinutes(59));
        Assert.False(ring.RotateIfDue());
        Assert.Equal(firstKey, ring.CurrentKeyId);

        for (int rotation = 1; rotation < NtsServerKeyRing.MaxKeys; rotation++)
        {
            _clock.Advance(TimeSpan.FromHours(1));
            Assert.True(ring.RotateIfDue());
            Assert.NotEqual(firstKey, ring.CurrentKeyId);
            Assert.True(Opens(ring, first), $"a cookie {rotation} rotations old must still open");
        }

        byte[] second = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.True(ring.RotateIfDue());

        Assert.Equal(NtsServerKeyRing.MaxKeys, ring.KeyIds.Count);
        Assert.DoesNotContain(firstKey, ring.KeyIds);
        Assert.False(Opens(ring, first));
        Assert.True(Opens(ring, second));
    }

    [Fact]
    public void NewCookiesUseTheNewKeyAfterRotation()
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 3600);
        uint before = ring.CurrentKeyId;
        ring.Rotate();
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.Aes128GcmSiv);

        byte[] cookie = Issue(ring, NtsAeadAlgorithm.Aes128GcmSiv, c2s, s2c);

        Assert.NotEqual(before, ring.CurrentKeyId);
        Assert.Equal(ring.CurrentKeyId, BinaryPrimitives.ReadUInt32BigEndian(cookie));
    }

    [Fact]
    public void RingWithoutRotationNeverRotatesByItself()
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 0);
        uint key = ring.CurrentKeyId;
        _clock.Advance(TimeSpan.FromDays(3650));

        Assert.False(ring.RotateIfDue());
        Assert.Equal(key, ring.CurrentKeyId);
        Assert.Equal(long.MaxValue, ring.NextRotationUnixNanoseconds);
    }

    [Fact]
    public void SavedRingLoadsAfterARestartAndOpensOldCookies()
    {
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac512);
        byte[] old;
        byte[] current;
        IReadOnlyList<uint> ids;
        using (NtsServerKeyRing ring = Open())
        {
            Assert.Null(ring.LoadError);
            old = Issue(ring, NtsAeadAlgorithm.AesSivCmac512, c2s, s2c);
            _clock.Advance(TimeSpan.FromDays(7));
            Assert.True(ring.RotateIfDue());
            current = Issue(ring, NtsAeadAlgorithm.AesSivCmac512, c2s, s2c);
            ids = ring.KeyIds;
        }

        using NtsServerKeyRing restarted = Open();

        Assert.Null(restarted.LoadError);
        Assert.Equal(ids, restarted.KeyIds);
        Assert.True(Opens(restarted, old));
        Assert.True(Opens(restarted, current));
        // The rotation time survives the restart (to the second), so the schedule does not restart with it.
        Assert.InRange(restarted.NextRotationUnixNanoseconds - _clock.UnixNanoseconds, 604_798_000_000_000L, 604_800_000_000_000L);
    }

    [Fact]
    public void KeyFileIsWrittenWithModeSixHundredAndNoTemporaryFilesRemain()
    {
        using NtsServerKeyRing ring = Open();
        ring.Rotate();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
        Assert.Equal([NtsServerKeyRing.FileName], Directory.GetFiles(_directory).Select(Path.GetFileName));
        Assert.Contains(NtsServerKeyRing.FileHeader, File.ReadAllText(KeyFile));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("tempus-ntskeys 1\nrotated 1764000000\n", "no key lines")]
    [InlineData("tempus-ntskeys 1\nrotated 1764000000\nkey 0102 15 00", "8 hex digits")]
    [InlineData("tempus-ntskeys 1\nrotated 1764000000\nkey 01020304 15 0011", "64 hex digits")]
    [InlineData("tempus-ntskeys 1\nrotated 1764000000\nkey 01020304 30 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f", "unsupported cookie AEAD")]
    [InlineData("tempus-ntskeys 2\n", "expected 'tempus-ntskeys 1'")]
    [InlineData("tempus-ntskeys 1\nkey 01020304 15 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f\n", "no 'rotated' line")]
    [InlineData("tempus-ntskeys 1\nrotated 1764000000\nkey 01020304 15 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f\nkey 01020304 15 000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f\n", "duplicate key id")]
    [InlineData("tempus-ntskeys 1\nrotated 1764000000\nfrobnicate\n", "unknown keyword")]
    [InlineData("tempus-ntskeys 1\nrotated 1764000000\nkey 01020304 15 \u00ff\n", "not printable ASCII")]
    public void CorruptKeyFileIsReportedWithItsNameAndCauseAndTheServerStartsWithFreshKeys(string content, string cause)
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(KeyFile, content);

        using NtsServerKeyRing ring = Open();

        Assert.NotNull(ring.LoadError);
        Assert.Contains(KeyFile, ring.LoadError!.Message);
        Assert.Contains(cause, ring.LoadError.Message);
        Assert.Single(ring.KeyIds);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        Assert.True(Opens(ring, Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c)));

        // The fresh key replaced the damaged file, so the next start loads it.
        using NtsServerKeyRing restarted = Open();
        Assert.Null(restarted.LoadError);
        Assert.Equal(ring.KeyIds, restarted.KeyIds);
    }

    [Fact]
    public void KeyFileTooLongIsRefusedWithoutReadingItAll()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(KeyFile, "tempus-ntskeys 1\n" + new string('#', 70_000));

        using NtsServerKeyRing ring = Open();

        Assert.Contains("longer than", ring.LoadError!.Message);
    }

    private static string ExternalFile(params (uint Id, byte Fill)[] keys)
    {
        var text = new System.Text.StringBuilder("tempus-ntskeys 1\nrotated 1764000000\n");
        foreach ((uint id, byte fill) in keys)
        {
            text.Append($"key {id:x8} 15 {Convert.ToHexStringLower(Enumerable.Repeat(fill, 32).ToArray())}\n");
        }

        return text.ToString();
    }

    [Fact]
    public void WithoutRotationAFleetSharingTheKeyFileOpensEachOthersCookiesAndReloadPicksUpNewKeys()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(KeyFile, ExternalFile((0x11111111, 0xAA), (0x22222222, 0xBB)));
        File.SetUnixFileMode(KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string otherDirectory = _directory + "-other";
        Directory.CreateDirectory(otherDirectory);
        try
        {
            File.Copy(KeyFile, Path.Combine(otherDirectory, NtsServerKeyRing.FileName));
            using NtsServerKeyRing a = Open(rotate: 0);
            using NtsServerKeyRing b = NtsServerKeyRing.Open(_clock, 0, otherDirectory, NullLogger.Instance);
            (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);

            Assert.Equal(0x22222222u, a.CurrentKeyId);
            byte[] cookie = Issue(a, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
            Assert.True(Opens(b, cookie));

            _clock.Advance(TimeSpan.FromDays(365));
            Assert.False(a.RotateIfDue());

            // The operator rotates outside: key 2 stays, key 3 becomes current.
            File.WriteAllText(KeyFile, ExternalFile((0x22222222, 0xBB), (0x33333333, 0xCC)));
            Assert.Null(a.Reload());
            Assert.Equal(0x33333333u, a.CurrentKeyId);
            Assert.True(Opens(a, cookie));

            File.WriteAllText(KeyFile, ExternalFile((0x33333333, 0xCC)));
            Assert.Null(a.Reload());
            Assert.False(Opens(a, cookie));
        }
        finally
        {
            Directory.Delete(otherDirectory, recursive: true);
        }
    }

    [Fact]
    public void ReloadOfADamagedFileKeepsTheCurrentKeys()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(KeyFile, ExternalFile((0x11111111, 0xAA)));
        using NtsServerKeyRing ring = Open(rotate: 0);
        File.WriteAllText(KeyFile, "tempus-ntskeys 1\nrotated 1764000000\nkey 11111111 15 aa");

        NtsStateFileException? error = ring.Reload();

        Assert.NotNull(error);
        Assert.Equal(KeyFile, error!.FileName);
        Assert.Equal(3, error.Line);
        Assert.Equal(0x11111111u, ring.CurrentKeyId);
    }

    [Fact]
    public void WithoutRotationADamagedKeyFileIsLeftForTheOperator()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(KeyFile, "garbage");

        using NtsServerKeyRing ring = Open(rotate: 0);

        Assert.NotNull(ring.LoadError);
        Assert.Equal("garbage", File.ReadAllText(KeyFile));
    }

    [Fact]
    public void CookiesOpenConcurrentlyOnManyThreads()
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 3600);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        byte[] cookie = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        int failures = 0;

        Parallel.For(0, 2000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            byte[] mine = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
            if (!Opens(ring, cookie) || !Opens(ring, mine))
            {
                Interlocked.Increment(ref failures);
            }
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public void ThreadKeepsOneContextPerMasterKeyAndFreesARotatedOutKeysOnItsNextCookieOperation()
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 3600);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        uint first = ring.CurrentKeyId;
        byte[] old = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        ring.Rotate();
        uint second = ring.CurrentKeyId;

        (bool heldBoth, bool opened, bool heldFirstAfter, bool heldSecondAfter, bool stillOpens) = TestThread.Run(() =>
        {
            // A request with a cookie of the previous key, answered with cookies of the current one.
            bool opens = Opens(ring, old);
            Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
            bool both = NtsServerKeyRing.ThreadHoldsContextFor(first) && NtsServerKeyRing.ThreadHoldsContextFor(second);
            for (int i = 0; i < NtsServerKeyRing.MaxKeys - 1; i++)
            {
                ring.Rotate();
            }

            bool again = Opens(ring, old);
            Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
            return (both, opens, NtsServerKeyRing.ThreadHoldsContextFor(first), NtsServerKeyRing.ThreadHoldsContextFor(second), again);
        });

        Assert.True(opened);
        Assert.True(heldBoth);
        Assert.False(stillOpens);
        Assert.False(heldFirstAfter);
        Assert.True(heldSecondAfter);
    }

    [Fact]
    public void ReleaseErasedKeysFreesTheContextsOfADisposedRingOnAnIdleThread()
    {
        NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 3600);
        uint key = ring.CurrentKeyId;
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        using var issued = new ManualResetEventSlim();
        using var disposed = new ManualResetEventSlim();
        bool heldBefore = false;
        bool heldAfter = true;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                try
                {
                    Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
                    heldBefore = NtsServerKeyRing.ThreadHoldsContextFor(key);
                }
                finally
                {
                    issued.Set();
                }

                disposed.Wait();
                NtsServerKeyRing.ReleaseErasedKeys();
                heldAfter = NtsServerKeyRing.ThreadHoldsContextFor(key);
            }
            catch (Exception e)
            {
                // An exception on a bare thread would take the whole test host down.
                failure = e;
            }
        });
        thread.Start();

        // The ring is disposed only once the thread holds a context for its key (before, the issue itself would
        // meet a disposed ring: the race that once crashed a CI run), and the thread releases it only after.
        Assert.True(issued.Wait(TimeSpan.FromSeconds(30)));
        ring.Dispose();
        disposed.Set();
        thread.Join();
        Assert.Null(failure);

        Assert.True(heldBefore);
        Assert.False(heldAfter);
    }

    [Fact]
    public void CookieIssuedOnADisposedRingThrows()
    {
        NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 3600);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        ring.Dispose();

        Assert.Throws<ObjectDisposedException>(() => Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c));
    }

    [Fact]
    public void OpeningCookiesOfOldAndCurrentKeysAndIssuingAllocatesNothingPerCall()
    {
        using NtsServerKeyRing ring = NtsServerKeyRing.CreateEphemeral(_clock, 3600);
        (byte[] c2s, byte[] s2c) = Keys(NtsAeadAlgorithm.AesSivCmac256);
        byte[] old = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);
        ring.Rotate();
        byte[] current = Issue(ring, NtsAeadAlgorithm.AesSivCmac256, c2s, s2c);

        TestThread.Run(() =>
        {
            byte[] keys = new byte[128];
            byte[] cookie = new byte[ring.MaxCookieLength];
            void Round(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    ring.TryOpenCookie(old, keys, out _, out _);
                    ring.TryOpenCookie(current, keys, out _, out _);
                    ring.IssueCookie(NtsAeadAlgorithm.AesSivCmac256, c2s, s2c, cookie);
                }
            }

            Round(200);
            AllocationAssert.NothingPerRound(() => Round(500), "500 cookies opened twice and issued");
            return true;
        });
    }
}
