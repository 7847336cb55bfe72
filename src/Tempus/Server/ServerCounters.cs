namespace Tempus.Server;

/// <summary>
/// Server counters in the spirit of chronyc <c>serverstats</c>. Updated with Interlocked from any worker
/// thread; read for monitoring without locking.
/// </summary>
public sealed class ServerCounters
{
    private long _received;
    private long _responded;
    private long _authenticated;
    private long _malformed;
    private long _notClientMode;
    private long _denied;
    private long _unknownKey;
    private long _badMac;
    private long _cryptoNaksSent;

    /// <summary>Datagrams received on the NTP port.</summary>
    public long Received => Volatile.Read(ref _received);

    /// <summary>Responses sent (including crypto-NAKs).</summary>
    public long Responded => Volatile.Read(ref _responded);

    /// <summary>Requests whose MAC verified, answered with a MAC.</summary>
    public long Authenticated => Volatile.Read(ref _authenticated);

    /// <summary>Datagrams dropped because they were not valid NTP packets.</summary>
    public long Malformed => Volatile.Read(ref _malformed);

    /// <summary>Valid packets dropped because they were not client (mode 3) requests.</summary>
    public long NotClientMode => Volatile.Read(ref _notClientMode);

    /// <summary>Requests dropped by the <c>allow</c>/<c>deny</c> rules.</summary>
    public long Denied => Volatile.Read(ref _denied);

    /// <summary>Requests whose MAC named a key we do not have or do not trust.</summary>
    public long UnknownKey => Volatile.Read(ref _unknownKey);

    /// <summary>Requests whose MAC did not verify.</summary>
    public long BadMac => Volatile.Read(ref _badMac);

    /// <summary>Crypto-NAKs sent (only with <c>cryptonak</c>).</summary>
    public long CryptoNaksSent => Volatile.Read(ref _cryptoNaksSent);

    /// <summary>Every request dropped, whatever the reason.</summary>
    public long Dropped => Malformed + NotClientMode + Denied + ((UnknownKey + BadMac) - CryptoNaksSent);

    internal void CountReceived() => Interlocked.Increment(ref _received);

    internal void CountResponded() => Interlocked.Increment(ref _responded);

    internal void CountAuthenticated() => Interlocked.Increment(ref _authenticated);

    internal void CountMalformed() => Interlocked.Increment(ref _malformed);

    internal void CountNotClientMode() => Interlocked.Increment(ref _notClientMode);

    internal void CountDenied() => Interlocked.Increment(ref _denied);

    internal void CountUnknownKey() => Interlocked.Increment(ref _unknownKey);

    internal void CountBadMac() => Interlocked.Increment(ref _badMac);

    internal void CountCryptoNak() => Interlocked.Increment(ref _cryptoNaksSent);
}
