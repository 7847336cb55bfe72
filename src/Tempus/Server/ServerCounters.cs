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
    private long _ntsRequests;
    private long _ntsAuthenticated;
    private long _ntsNaksSent;
    private long _ntsBadCookies;
    private long _ntsBadAuthenticators;
    private long _ntsMalformed;
    private long _ntsDisabled;
    private long _rateLimited;
    private long _rateKods;

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

    /// <summary>Requests carrying NTS extension fields (RFC 8915 §5), whatever became of them.</summary>
    public long NtsRequests => Volatile.Read(ref _ntsRequests);

    /// <summary>NTS requests that authenticated and were answered with fresh cookies.</summary>
    public long NtsAuthenticated => Volatile.Read(ref _ntsAuthenticated);

    /// <summary>NTS NAKs sent (kiss code NTSN, RFC 8915 §5.7), one per bad cookie.</summary>
    public long NtsNaksSent => Volatile.Read(ref _ntsNaksSent);

    /// <summary>NTS requests whose cookie did not open: unknown or rotated-out key, altered, or not ours.</summary>
    public long NtsBadCookies => Volatile.Read(ref _ntsBadCookies);

    /// <summary>NTS requests whose cookie opened but whose authenticator did not verify; dropped.</summary>
    public long NtsBadAuthenticators => Volatile.Read(ref _ntsBadAuthenticators);

    /// <summary>NTS requests dropped as malformed, incomplete or short of nonce room.</summary>
    public long NtsMalformed => Volatile.Read(ref _ntsMalformed);

    /// <summary>NTS requests dropped because this server has no NTS keys.</summary>
    public long NtsDisabled => Volatile.Read(ref _ntsDisabled);

    /// <summary>Requests dropped by <c>ratelimit</c>.</summary>
    public long RateLimited => Volatile.Read(ref _rateLimited);

    /// <summary>Kiss-o'-Death RATE responses sent (<c>ratelimit ... kod</c>).</summary>
    public long RateKods => Volatile.Read(ref _rateKods);

    /// <summary>Every request dropped, whatever the reason.</summary>
    public long Dropped => Malformed + NotClientMode + Denied + ((UnknownKey + BadMac) - CryptoNaksSent)
        + NtsMalformed + NtsDisabled + NtsBadAuthenticators + (NtsBadCookies - NtsNaksSent) + RateLimited;

    internal void CountReceived() => Interlocked.Increment(ref _received);

    internal void CountResponded() => Interlocked.Increment(ref _responded);

    internal void CountAuthenticated() => Interlocked.Increment(ref _authenticated);

    internal void CountMalformed() => Interlocked.Increment(ref _malformed);

    internal void CountNotClientMode() => Interlocked.Increment(ref _notClientMode);

    internal void CountDenied() => Interlocked.Increment(ref _denied);

    internal void CountUnknownKey() => Interlocked.Increment(ref _unknownKey);

    internal void CountBadMac() => Interlocked.Increment(ref _badMac);

    internal void CountCryptoNak() => Interlocked.Increment(ref _cryptoNaksSent);

    internal void CountNtsRequest() => Interlocked.Increment(ref _ntsRequests);

    internal void CountNtsAuthenticated() => Interlocked.Increment(ref _ntsAuthenticated);

    internal void CountNtsNak() => Interlocked.Increment(ref _ntsNaksSent);

    internal void CountNtsBadCookie() => Interlocked.Increment(ref _ntsBadCookies);

    internal void CountNtsBadAuthenticator() => Interlocked.Increment(ref _ntsBadAuthenticators);

    internal void CountNtsMalformed() => Interlocked.Increment(ref _ntsMalformed);

    internal void CountNtsDisabled() => Interlocked.Increment(ref _ntsDisabled);

    internal void CountRateLimited() => Interlocked.Increment(ref _rateLimited);

    internal void CountRateKod() => Interlocked.Increment(ref _rateKods);
}
