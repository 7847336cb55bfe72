using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Tempus.Clock;
using Tempus.Crypto;
using Tempus.Protocol;

namespace Tempus.Nts;

/// <summary>
/// The NTS server's master keys and the cookies made with them (RFC 8915 §6). A cookie is
/// <c>key id (4) | nonce (16) | AEAD_AES_SIV_CMAC_256(master key, nonce, no associated data,
/// AEAD id (2) | zero (2) | C2S key | S2C key)</c>: any server holding the master key can recover the client's
/// keys, and the client learns nothing from it. AES-SIV with a 16-byte random nonce is what chrony uses, and
/// RFC 8915 §6 recommends it because it resists accidental nonce reuse.
/// </summary>
/// <remarks>
/// <para>
/// Rotation (<c>ntsrotate</c>): every <see cref="RotationSeconds"/> a fresh random key becomes current; the
/// previous <see cref="MaxKeys"/> − 1 keys still open cookies, so a client polling at any sane interval gets new
/// cookies before its old ones stop working, and a stolen master key exposes at most <see cref="MaxKeys"/>
/// rotation periods (RFC 8915 §6, §8.2). With <c>ntsrotate 0</c> the keys never rotate here: they are managed
/// outside (a fleet sharing one <c>ntskeys</c> file) and re-read with <see cref="Reload"/>.
/// </para>
/// <para>
/// Persistence: with a dump directory the ring is saved to <c>ntsdumpdir/ntskeys</c> (mode 0600, atomic rename)
/// after every change and loaded at start, so a restart does not invalidate the cookies clients hold. A damaged
/// file is reported (<see cref="LoadError"/>, logged) and the server starts with a fresh key: clients then get an
/// NTS NAK and run NTS-KE again, which is the worst a lost key file can cost.
/// </para>
/// <para>
/// <see cref="IssueCookie"/> and <see cref="TryOpenCookie"/> are thread-safe and allocation-free: the key set is an
/// immutable snapshot swapped atomically, and each thread keeps one AES-SIV context per master key it has used, so
/// no request re-keys one (not even one whose cookie was sealed under a previous key, answered with cookies sealed
/// under the current one). Cookie nonces come from the thread's <see cref="Tempus.Server.NonceSource"/>.
/// </para>
/// </remarks>
public sealed partial class NtsServerKeyRing : INtsCookieIssuer, IDisposable
{
    /// <summary>The AEAD that seals cookies: AEAD_AES_SIV_CMAC_256, whatever the client negotiated.</summary>
    public const NtsAeadAlgorithm CookieAlgorithm = NtsAeadAlgorithm.AesSivCmac256;

    /// <summary>The length of a master key: the AES-SIV-CMAC-256 key length.</summary>
    public const int MasterKeyLength = 32;

    /// <summary>The cookie nonce length, as chrony's.</summary>
    public const int CookieNonceLength = 16;

    /// <summary>How many keys a rotating ring keeps: the current one and three previous, like chrony's MAX_SERVER_KEYS.</summary>
    public const int MaxKeys = 4;

    /// <summary>How many keys an <c>ntskeys</c> file may hold (managed from outside, with <c>ntsrotate 0</c>).</summary>
    public const int MaxFileKeys = 16;

    /// <summary>The file name under <c>ntsdumpdir</c>.</summary>
    public const string FileName = "ntskeys";

    /// <summary>The first line of an <c>ntskeys</c> file, naming the format and its version.</summary>
    public const string FileHeader = "tempus-ntskeys 1";

    // key id | nonce | tag | AEAD id | zero | C2S | S2C
    private const int CookieOverhead = 4 + CookieNonceLength + NtsAead.TagSize + 4;
    private const int MaxSessionKeyLength = 64;

    [ThreadStatic]
    private static CookieAeads? t_aeads;

    // Bumped by every master key erasure, so each thread notices with one read that it may hold a stale context.
    private static int s_erasures;

    private readonly ISystemClock _clock;
    private readonly ILogger _logger;
    private readonly Lock _writeLock = new();
    private volatile KeySet _set;
    private bool _disposed;

    private NtsServerKeyRing(ISystemClock clock, int rotationSeconds, string? path, ILogger logger, KeySet set)
    {
        _clock = clock;
        RotationSeconds = rotationSeconds;
        FilePath = path;
        _logger = logger;
        _set = set;
    }

    /// <summary>Seconds between rotations (<c>ntsrotate</c>); 0 when keys are managed outside.</summary>
    public int RotationSeconds { get; }

    /// <summary>The <c>ntskeys</c> file, or null when keys live in memory only.</summary>
    public string? FilePath { get; }

    /// <summary>Why the key file could not be used at start (the ring then started with a fresh key), or null.</summary>
    public NtsStateFileException? LoadError { get; private set; }

    /// <summary>The id of the key new cookies are sealed with.</summary>
    public uint CurrentKeyId => _set.Current.Id;

    /// <summary>The ids of the keys that open cookies, oldest first; the last is current.</summary>
    public IReadOnlyList<uint> KeyIds => Array.ConvertAll(_set.Keys, k => k.Id);

    /// <summary>When the current key became current, Unix nanoseconds (from the file's <c>rotated</c> line after a load).</summary>
    public long LastRotationUnixNanoseconds => _set.RotatedUnixNanoseconds;

    /// <summary>When <see cref="RotateIfDue"/> will next rotate, Unix nanoseconds; <see cref="long.MaxValue"/> with <c>ntsrotate 0</c>.</summary>
    public long NextRotationUnixNanoseconds =>
        RotationSeconds == 0 ? long.MaxValue : _set.RotatedUnixNanoseconds + (RotationSeconds * 1_000_000_000L);

    /// <inheritdoc/>
    public int MaxCookieLength => CookieOverhead + (2 * MaxSessionKeyLength);

    /// <summary>
    /// Creates the ring: loads <c>ntsdumpdir/ntskeys</c> when there is one, otherwise (or when it is damaged, which
    /// is logged and kept in <see cref="LoadError"/>) starts with a fresh random key and saves it. Never throws for
    /// a bad or unwritable file: a server without its old keys still serves, at the cost of clients re-running NTS-KE.
    /// </summary>
    /// <param name="clock">Where rotation reads the time.</param>
    /// <param name="rotationSeconds">The <c>ntsrotate</c> interval; 0 never rotates (keys managed outside).</param>
    /// <param name="dumpDirectory">The <c>ntsdumpdir</c> directory, or null to keep keys in memory only.</param>
    /// <param name="logger">Where load, save and rotation are logged.</param>
    /// <returns>The ring.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="rotationSeconds"/> is negative.</exception>
    /// <exception cref="PlatformNotSupportedException">OpenSSL 3, which the cookie AEAD needs, is not available.</exception>
    public static NtsServerKeyRing Open(ISystemClock clock, int rotationSeconds, string? dumpDirectory, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfNegative(rotationSeconds);
        string? path = dumpDirectory is null ? null : Path.Combine(Path.GetFullPath(dumpDirectory), FileName);
        NtsStateFileException? error = null;
        KeySet? set = null;
        if (path is not null)
        {
            try
            {
                set = Load(path);
            }
            catch (FileNotFoundException)
            {
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (NtsStateFileException e)
            {
                error = e;
            }
        }

        bool fresh = set is null;
        set ??= new KeySet([MasterKey.Generate([])], clock.UnixNanoseconds);
        var ring = new NtsServerKeyRing(clock, rotationSeconds, path, logger, set) { LoadError = error };

        // Fail now, not on the first packet, when OpenSSL is missing.
        _ = CookieAeads.Current.Rent(set.Current);
        if (error is not null)
        {
            LogLoadFailed(logger, error.Message);
        }
        else if (!fresh)
        {
            LogLoaded(logger, set.Keys.Length, path!, set.Current.Id);
        }

        // A damaged file is replaced only when this server owns the keys: with ntsrotate 0 the file is the
        // operator's (shared by a fleet) and stays as it is for them to repair.
        if (fresh && path is not null && (error is null || rotationSeconds > 0))
        {
            ring.TrySave();
        }

        return ring;
    }

    /// <summary>A ring with one fresh key, kept in memory only (tests, and servers without <c>ntsdumpdir</c>).</summary>
    /// <param name="clock">Where rotation reads the time.</param>
    /// <param name="rotationSeconds">The <c>ntsrotate</c> interval; 0 never rotates.</param>
    /// <returns>The ring.</returns>
    public static NtsServerKeyRing CreateEphemeral(ISystemClock clock, int rotationSeconds) =>
        Open(clock, rotationSeconds, null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    /// <summary>The length of the cookies issued for <paramref name="algorithm"/>: 40 bytes plus both keys.</summary>
    /// <param name="algorithm">The negotiated AEAD.</param>
    /// <returns>70 for AEAD 30, 104 for 15, 136 for 16, 168 for 17; always a multiple of 4, so never padded on the wire.</returns>
    /// <exception cref="NotSupportedException"><paramref name="algorithm"/> is not an NTS AEAD.</exception>
    public static int GetCookieLength(NtsAeadAlgorithm algorithm) => CookieOverhead + (2 * NtsAead.GetKeyLength(algorithm));

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A key has the wrong length for <paramref name="algorithm"/>, or <paramref name="destination"/> is too short.</exception>
    /// <exception cref="NotSupportedException"><paramref name="algorithm"/> is not an NTS AEAD.</exception>
    public int IssueCookie(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> c2sKey, ReadOnlySpan<byte> s2cKey, Span<byte> destination)
    {
        int length = GetCookieLength(algorithm);
        IssueCookies(algorithm, c2sKey, s2cKey, destination, 1, length, 0);
        return length;
    }

    /// <summary>
    /// Seals <paramref name="count"/> cookies for the same keys, cookie i at <paramref name="offset"/> + i ×
    /// <paramref name="stride"/> of <paramref name="destination"/> (the NTP server's response: one NTS Cookie field
    /// after another). The same as <paramref name="count"/> calls of <see cref="IssueCookie"/>, with the checks, the
    /// plaintext and the key lookup done once.
    /// </summary>
    /// <exception cref="ArgumentException">A key has the wrong length, or the cookies do not fit.</exception>
    /// <exception cref="NotSupportedException"><paramref name="algorithm"/> is not an NTS AEAD.</exception>
    internal void IssueCookies(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> c2sKey, ReadOnlySpan<byte> s2cKey, Span<byte> destination, int count, int stride, int offset)
    {
        int keyLength = NtsAead.GetKeyLength(algorithm);
        if (c2sKey.Length != keyLength || s2cKey.Length != keyLength)
        {
            throw new ArgumentException($"AEAD {(ushort)algorithm} keys are {keyLength} bytes; got C2S {c2sKey.Length} and S2C {s2cKey.Length}");
        }

        int length = CookieOverhead + (2 * keyLength);
        if (count < 0 || stride < length || offset < 0 || (count > 0 && destination.Length < offset + ((count - 1) * (long)stride) + length))
        {
            throw new ArgumentException($"{count} AEAD {(ushort)algorithm} cookies of {length} bytes, {stride} apart from offset {offset}, do not fit the destination's {destination.Length} bytes", nameof(destination));
        }

        int plaintextLength = 4 + (2 * keyLength);
        Span<byte> plaintext = stackalloc byte[4 + (2 * MaxSessionKeyLength)];
        plaintext = plaintext.Slice(0, plaintextLength);
        BinaryPrimitives.WriteUInt16BigEndian(plaintext, (ushort)algorithm);
        plaintext[2] = 0;
        plaintext[3] = 0;
        c2sKey.CopyTo(plaintext.Slice(4));
        s2cKey.CopyTo(plaintext.Slice(4 + keyLength));

        MasterKey key;
        NtsAead? aead;
        while ((aead = CookieAeads.Current.Rent(key = _set.Current)) is null)
        {
            // Erased between the read of the set and the keying of the context: a reload replaced the set (read it
            // again), or the ring was disposed.
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        }

        Tempus.Server.NonceSource nonces = Tempus.Server.NonceSource.Current;
        for (int i = 0; i < count; i++)
        {
            Span<byte> cookie = destination.Slice(offset + (i * stride), length);
            BinaryPrimitives.WriteUInt32BigEndian(cookie, key.Id);
            Span<byte> nonce = cookie.Slice(4, CookieNonceLength);
            nonces.Fill(nonce);
            aead.Seal(nonce, default, plaintext, cookie.Slice(4 + CookieNonceLength));
        }

        CryptographicOperations.ZeroMemory(plaintext);
    }

    /// <summary>
    /// Recovers the AEAD and keys from a cookie a client sent (RFC 8915 §6). Returns <see langword="false"/> for
    /// anything but a cookie this ring issued with a key it still holds: unknown key id, wrong length, failed
    /// authentication, or an algorithm this server does not implement. Allocation-free and thread-safe.
    /// </summary>
    /// <param name="cookie">The NTS Cookie body from the request.</param>
    /// <param name="keysBuffer">Receives C2S then S2C, each <paramref name="keyLength"/> bytes; at least 128 bytes.</param>
    /// <param name="algorithm">The negotiated AEAD.</param>
    /// <param name="keyLength">The length of each key.</param>
    /// <returns>Whether the cookie is valid.</returns>
    /// <exception cref="ArgumentException"><paramref name="keysBuffer"/> is shorter than 128 bytes.</exception>
    public bool TryOpenCookie(ReadOnlySpan<byte> cookie, Span<byte> keysBuffer, out NtsAeadAlgorithm algorithm, out int keyLength)
    {
        if (keysBuffer.Length < 2 * MaxSessionKeyLength)
        {
            throw new ArgumentException($"the keys buffer needs {2 * MaxSessionKeyLength} bytes, it has {keysBuffer.Length}", nameof(keysBuffer));
        }

        algorithm = default;
        keyLength = 0;
        int plaintextLength = cookie.Length - CookieOverhead + 4;
        if (cookie.Length < CookieOverhead || plaintextLength > 4 + (2 * MaxSessionKeyLength) || (plaintextLength - 4) % 2 != 0)
        {
            return false;
        }

        MasterKey? key = _set.Find(BinaryPrimitives.ReadUInt32BigEndian(cookie));
        if (key is null)
        {
            return false;
        }

        Span<byte> plaintext = stackalloc byte[4 + (2 * MaxSessionKeyLength)];
        plaintext = plaintext.Slice(0, plaintextLength);
        try
        {
            // A key erased meanwhile (rotated out, reloaded) no longer opens cookies.
            NtsAead? aead = CookieAeads.Current.Rent(key);
            if (aead is null || !aead.TryOpen(cookie.Slice(4, CookieNonceLength), default, cookie.Slice(4 + CookieNonceLength), plaintext))
            {
                return false;
            }

            var found = (NtsAeadAlgorithm)BinaryPrimitives.ReadUInt16BigEndian(plaintext);
            int length = (plaintextLength - 4) / 2;
            if (!NtsAead.IsSupported(found) || NtsAead.GetKeyLength(found) != length || plaintext[2] != 0 || plaintext[3] != 0)
            {
                return false;
            }

            plaintext.Slice(4, 2 * length).CopyTo(keysBuffer);
            algorithm = found;
            keyLength = length;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>
    /// Rotates when <see cref="NextRotationUnixNanoseconds"/> has passed: a fresh key becomes current, the oldest
    /// beyond <see cref="MaxKeys"/> is erased, and the ring is saved. The daemon calls this from a timer (a minute's
    /// lateness is harmless); never from the packet path, since saving touches the disk. A failed save is logged,
    /// not thrown: the new key still works until the next restart.
    /// </summary>
    /// <returns>Whether a rotation happened.</returns>
    public bool RotateIfDue()
    {
        if (RotationSeconds == 0 || _clock.UnixNanoseconds < NextRotationUnixNanoseconds)
        {
            return false;
        }

        Rotate();
        return true;
    }

    /// <summary>Makes a fresh key current now (and saves), whatever the interval; also used by <see cref="RotateIfDue"/>.</summary>
    public void Rotate()
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            KeySet old = _set;
            int keep = Math.Min(old.Keys.Length, MaxKeys - 1);
            var keys = new MasterKey[keep + 1];
            Array.Copy(old.Keys, old.Keys.Length - keep, keys, 0, keep);
            keys[keep] = MasterKey.Generate(keys.AsSpan(0, keep));
            _set = new KeySet(keys, _clock.UnixNanoseconds);

            // RFC 8915 §6: erase the keys that expire, for forward secrecy. Each thread frees its AES-SIV context for a
            // dropped key on its next cookie operation (or idle wake-up, ReleaseErasedKeys); no cookie reaches it
            // meanwhile, since lookups use the new set.
            for (int i = 0; i < old.Keys.Length - keep; i++)
            {
                old.Keys[i].Erase();
            }

            LogRotated(_logger, keys[keep].Id, keys.Length);
            TrySave();
        }
    }

    /// <summary>
    /// Re-reads the key file (SIGHUP; with <c>ntsrotate 0</c> this is how keys rotated outside take effect). On any
    /// problem the current keys stay and the error is logged and returned.
    /// </summary>
    /// <returns>null when the keys were reloaded, else why not.</returns>
    public NtsStateFileException? Reload()
    {
        if (FilePath is null)
        {
            return null;
        }

        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            KeySet loaded;
            try
            {
                loaded = Load(FilePath);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                var error = new NtsStateFileException(FilePath, 0, "does not exist; keeping the current keys", e);
                LogReloadFailed(_logger, error.Message);
                return error;
            }
            catch (NtsStateFileException e)
            {
                LogReloadFailed(_logger, e.Message);
                return e;
            }

            KeySet old = _set;
            _set = loaded;
            foreach (MasterKey key in old.Keys)
            {
                key.Erase();
            }

            LogLoaded(_logger, loaded.Keys.Length, FilePath, loaded.Current.Id);
            return null;
        }
    }

    /// <summary>Writes the ring to <see cref="FilePath"/> (mode 0600, atomically).</summary>
    /// <exception cref="InvalidOperationException">The ring has no file.</exception>
    /// <exception cref="NtsStateFileException">The file cannot be written.</exception>
    public void Save()
    {
        string path = FilePath ?? throw new InvalidOperationException("this NTS key ring has no ntsdumpdir to save to");
        KeySet set = _set;
        using var writer = new NtsStateFileWriter();
        writer.Append("# Tempus NTS server master keys (RFC 8915 section 6). SECRET: anyone holding them can read and forge NTS cookies.").Line();
        writer.Append("# Oldest first; the last key seals new cookies. Share this file across servers only with ntsrotate 0.").Line();
        writer.Append(FileHeader).Line();
        writer.Append("rotated ").Append(set.RotatedUnixNanoseconds / 1_000_000_000L).Line();
        Span<byte> id = stackalloc byte[4];
        foreach (MasterKey key in set.Keys)
        {
            BinaryPrimitives.WriteUInt32BigEndian(id, key.Id);
            writer.Append("key ").AppendHex(id).Append(" ").Append((ushort)CookieAlgorithm).Append(" ").AppendHex(key.Key).Line();
        }

        NtsStateFile.WriteAtomic(path, writer.Text);
    }

    /// <summary>
    /// Frees the calling thread's AES-SIV contexts for master keys erased since (rotated out, replaced by a reload, or
    /// of a disposed ring), wiping their key schedules. Cheap when there is nothing to do (one read); server workers
    /// call it when idle, so a key schedule does not outlive its key on a thread that has stopped serving NTS.
    /// </summary>
    public static void ReleaseErasedKeys() => t_aeads?.Sweep();

    /// <summary>Whether the calling thread holds an AES-SIV context keyed with the master key <paramref name="keyId"/> (tests).</summary>
    internal static bool ThreadHoldsContextFor(uint keyId) => t_aeads?.Holds(keyId) ?? false;

    /// <summary>
    /// Erases the keys. Each thread frees its AES-SIV contexts for them on its next cookie operation or
    /// <see cref="ReleaseErasedKeys"/>; the finalizers of threads that never make one.
    /// </summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (MasterKey key in _set.Keys)
            {
                key.Erase();
            }
        }
    }

    // Parses an ntskeys file: the header line, "rotated <unix seconds>", then 1 to 16 "key <8 hex id> 15 <64 hex>".
    private static KeySet Load(string path)
    {
        char[] text = NtsStateFile.ReadText(path, out int length);
        var keys = new List<MasterKey>();
        try
        {
            var reader = new NtsStateFileReader(text.AsSpan(0, length), path);
            Span<Range> t = stackalloc Range[4];
            int count = reader.ReadLine(t, out ReadOnlySpan<char> line);
            if (count == 0 || !line.SequenceEqual(FileHeader))
            {
                throw count == 0
                    ? new NtsStateFileException(path, 0, $"empty: expected '{FileHeader}' and at least one key (truncated by a crash or a full disk?)")
                    : reader.Error($"expected '{FileHeader}': not an ntskeys file, or one from a newer Tempus");
            }

            long rotated = -1;
            Span<byte> id = stackalloc byte[4];
            while ((count = reader.ReadLine(t, out line)) > 0)
            {
                ReadOnlySpan<char> keyword = line[t[0]];
                if (keyword.SequenceEqual("rotated"))
                {
                    if (count != 2 || !NtsStateFile.TryParseLong(line[t[1]], out long seconds) || seconds > long.MaxValue / 1_000_000_000L)
                    {
                        throw reader.Error("expected 'rotated <Unix seconds>'");
                    }

                    rotated = seconds * 1_000_000_000L;
                }
                else if (keyword.SequenceEqual("key"))
                {
                    if (count != 4)
                    {
                        throw reader.Error("expected 'key <8 hex digit id> 15 <64 hex digit key>'");
                    }

                    if (!NtsStateFile.TryParseHex(line[t[1]], id))
                    {
                        throw reader.Error("the key id must be 8 hex digits");
                    }

                    if (!line[t[2]].SequenceEqual("15"))
                    {
                        throw reader.Error($"unsupported cookie AEAD '{line[t[2]]}': only 15 (AES-SIV-CMAC-256) seals cookies");
                    }

                    var key = new MasterKey(BinaryPrimitives.ReadUInt32BigEndian(id), new byte[MasterKeyLength]);
                    if (!NtsStateFile.TryParseHex(line[t[3]], key.Key))
                    {
                        key.Erase();
                        throw reader.Error($"the key must be {MasterKeyLength * 2} hex digits");
                    }

                    if (keys.Exists(k => k.Id == key.Id))
                    {
                        key.Erase();
                        throw reader.Error($"duplicate key id {key.Id:x8}");
                    }

                    if (keys.Count == MaxFileKeys)
                    {
                        key.Erase();
                        throw reader.Error($"more than {MaxFileKeys} keys");
                    }

                    keys.Add(key);
                }
                else
                {
                    throw reader.Error($"unknown keyword '{keyword}'");
                }
            }

            if (keys.Count == 0)
            {
                throw new NtsStateFileException(path, 0, "has no key lines (truncated?)");
            }

            if (rotated < 0)
            {
                throw new NtsStateFileException(path, 0, "has no 'rotated' line");
            }

            return new KeySet(keys.ToArray(), rotated);
        }
        catch
        {
            foreach (MasterKey key in keys)
            {
                key.Erase();
            }

            throw;
        }
        finally
        {
            NtsStateFile.Wipe(text);
        }
    }

    private void TrySave()
    {
        if (FilePath is null)
        {
            return;
        }

        try
        {
            Save();
        }
        catch (NtsStateFileException e)
        {
            LogSaveFailed(_logger, e.Message);
        }
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "NTS: loaded {Count} server keys from {Path}; current key {KeyId:x8}")]
    private static partial void LogLoaded(ILogger logger, int count, string path, uint keyId);

    [LoggerMessage(EventId = 501, Level = LogLevel.Error, Message = "NTS: {Error}; starting with a fresh server key: clients holding older cookies get an NTS NAK and run NTS-KE again")]
    private static partial void LogLoadFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "NTS: server key {KeyId:x8} is now current ({Count} keys open cookies)")]
    private static partial void LogRotated(ILogger logger, uint keyId, int count);

    [LoggerMessage(EventId = 503, Level = LogLevel.Error, Message = "NTS: cannot save the server keys: {Error}; they stay in use but a restart will invalidate clients' cookies")]
    private static partial void LogSaveFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 504, Level = LogLevel.Error, Message = "NTS: cannot reload the server keys: {Error}")]
    private static partial void LogReloadFailed(ILogger logger, string error);

    private sealed class MasterKey(uint id, byte[] key)
    {
        private int _erased;

        public uint Id { get; } = id;

        public byte[] Key { get; } = key;

        public bool IsErased => Volatile.Read(ref _erased) != 0;

        public static MasterKey Generate(ReadOnlySpan<MasterKey> existing)
        {
            uint id;
            do
            {
                id = BinaryPrimitives.ReadUInt32BigEndian(RandomNumberGenerator.GetBytes(4));
            }
            while (Contains(existing, id));

            return new MasterKey(id, RandomNumberGenerator.GetBytes(MasterKeyLength));
        }

        // The flag is set, with a full fence, before the first byte is zeroed: a thread that keys a context from Key
        // and then (after a fence of its own) sees the flag clear has read the whole key, never part of its zeros.
        public void Erase()
        {
            if (Interlocked.Exchange(ref _erased, 1) == 0)
            {
                Interlocked.Increment(ref s_erasures);
            }

            CryptographicOperations.ZeroMemory(Key);
        }

        private static bool Contains(ReadOnlySpan<MasterKey> keys, uint id)
        {
            foreach (MasterKey key in keys)
            {
                if (key.Id == id)
                {
                    return true;
                }
            }

            return false;
        }
    }

    // Per thread: one AES-SIV context per master key, keyed once. A rotating ring holds 4 keys, a file at most 16, so
    // the slots hold a whole ring; past that (rings replaced on this thread) the oldest slot is reused. Contexts of
    // erased keys are disposed here, on their own thread, when s_erasures moves: never under a running call.
    private sealed class CookieAeads
    {
        private readonly MasterKey?[] _keys = new MasterKey?[MaxFileKeys];
        private readonly NtsAead?[] _aeads = new NtsAead?[MaxFileKeys];
        private int _erasures;
        private int _next;

        public static CookieAeads Current => t_aeads ??= new CookieAeads();

        // The context keyed with key, or null when key has been erased (it may no longer be used).
        public NtsAead? Rent(MasterKey key)
        {
            if (_erasures != Volatile.Read(ref s_erasures))
            {
                Sweep();
            }

            MasterKey?[] keys = _keys;
            for (int i = 0; i < keys.Length; i++)
            {
                if (ReferenceEquals(keys[i], key))
                {
                    return _aeads[i];
                }
            }

            return Add(key);
        }

        public bool Holds(uint keyId) => Array.Exists(_keys, k => k?.Id == keyId);

        public void Sweep()
        {
            // Read before the flags: an erasure counted after this read is seen by the next Rent.
            _erasures = Volatile.Read(ref s_erasures);
            for (int i = 0; i < _keys.Length; i++)
            {
                if (_keys[i] is { IsErased: true })
                {
                    Release(i);
                }
            }
        }

        private NtsAead? Add(MasterKey key)
        {
            int slot = Array.IndexOf(_keys, null);
            if (slot < 0)
            {
                slot = _next;
                _next = (_next + 1) % _keys.Length;
                Release(slot);
            }

            NtsAead aead = NtsAead.Create(CookieAlgorithm, key.Key);
            // Pairs with the fence in MasterKey.Erase: with the flag still clear here, the whole key was read.
            Interlocked.MemoryBarrier();
            if (key.IsErased)
            {
                aead.Dispose();
                return null;
            }

            _keys[slot] = key;
            _aeads[slot] = aead;
            return aead;
        }

        private void Release(int slot)
        {
            _aeads[slot]?.Dispose();
            _aeads[slot] = null;
            _keys[slot] = null;
        }
    }

    // Immutable: replaced as a whole, so readers need no lock.
    private sealed class KeySet(MasterKey[] keys, long rotatedUnixNanoseconds)
    {
        public MasterKey[] Keys { get; } = keys;

        public MasterKey Current { get; } = keys[^1];

        public long RotatedUnixNanoseconds { get; } = rotatedUnixNanoseconds;

        public MasterKey? Find(uint id)
        {
            // Newest first: almost every cookie is sealed with the current key.
            for (int i = Keys.Length - 1; i >= 0; i--)
            {
                if (Keys[i].Id == id)
                {
                    return Keys[i];
                }
            }

            return null;
        }
    }
}
