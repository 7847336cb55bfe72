namespace Tempus.Server;

/// <summary>
/// Server counters in the spirit of chronyc <c>serverstats</c>. Updated from any worker thread, read for monitoring
/// without locking. Each processor increments its own cache-line-aligned copy (an uncontended Interlocked add), so
/// workers on different cores never bounce one line between them; a read sums the copies.
/// </summary>
public sealed class ServerCounters
{
    private const int FieldCount = (int)Field.Failed + 1;

    // Longs per processor slot: the fields rounded up to whole 64-byte cache lines, plus one line so that two slots
    // never share a line whatever the array's alignment.
    private const int Stride = ((FieldCount + 7) / 8 * 8) + 8;

    private readonly long[] _cells;
    private readonly int _slotMask;

    /// <summary>Creates zeroed counters.</summary>
    public ServerCounters()
    {
        int slots = (int)Math.Min(64, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount));
        _slotMask = slots - 1;
        _cells = new long[slots * Stride];
    }

    private enum Field
    {
        Received,
        Responded,
        Authenticated,
        Malformed,
        NotClientMode,
        Denied,
        UnknownKey,
        BadMac,
        CryptoNaksSent,
        NtsRequests,
        NtsAuthenticated,
        NtsNaksSent,
        NtsBadCookies,
        NtsBadAuthenticators,
        NtsMalformed,
        NtsDisabled,
        RateLimited,
        RateKods,
        Failed,
    }

    /// <summary>Datagrams received on the NTP port.</summary>
    public long Received => Read(Field.Received);

    /// <summary>Responses sent (including crypto-NAKs).</summary>
    public long Responded => Read(Field.Responded);

    /// <summary>Requests whose MAC verified, answered with a MAC.</summary>
    public long Authenticated => Read(Field.Authenticated);

    /// <summary>Datagrams dropped because they were not valid NTP packets.</summary>
    public long Malformed => Read(Field.Malformed);

    /// <summary>Valid packets dropped because they were not client (mode 3) requests.</summary>
    public long NotClientMode => Read(Field.NotClientMode);

    /// <summary>Requests dropped by the <c>allow</c>/<c>deny</c> rules.</summary>
    public long Denied => Read(Field.Denied);

    /// <summary>Requests whose MAC named a key we do not have or do not trust.</summary>
    public long UnknownKey => Read(Field.UnknownKey);

    /// <summary>Requests whose MAC did not verify.</summary>
    public long BadMac => Read(Field.BadMac);

    /// <summary>Crypto-NAKs sent (only with <c>cryptonak</c>).</summary>
    public long CryptoNaksSent => Read(Field.CryptoNaksSent);

    /// <summary>Requests carrying NTS extension fields (RFC 8915 §5), whatever became of them.</summary>
    public long NtsRequests => Read(Field.NtsRequests);

    /// <summary>NTS requests that authenticated and were answered with fresh cookies.</summary>
    public long NtsAuthenticated => Read(Field.NtsAuthenticated);

    /// <summary>NTS NAKs sent (kiss code NTSN, RFC 8915 §5.7), one per bad cookie.</summary>
    public long NtsNaksSent => Read(Field.NtsNaksSent);

    /// <summary>NTS requests whose cookie did not open: unknown or rotated-out key, altered, or not ours.</summary>
    public long NtsBadCookies => Read(Field.NtsBadCookies);

    /// <summary>NTS requests whose cookie opened but whose authenticator did not verify; dropped.</summary>
    public long NtsBadAuthenticators => Read(Field.NtsBadAuthenticators);

    /// <summary>NTS requests dropped as malformed, incomplete or short of nonce room.</summary>
    public long NtsMalformed => Read(Field.NtsMalformed);

    /// <summary>NTS requests dropped because this server has no NTS keys.</summary>
    public long NtsDisabled => Read(Field.NtsDisabled);

    /// <summary>Requests dropped by <c>ratelimit</c>.</summary>
    public long RateLimited => Read(Field.RateLimited);

    /// <summary>Kiss-o'-Death RATE responses sent (<c>ratelimit ... kod</c>).</summary>
    public long RateKods => Read(Field.RateKods);

    /// <summary>
    /// Requests dropped because answering them threw inside the server: a fault in Tempus, not in the request. Logged
    /// at Error; the worker goes on with the next datagram.
    /// </summary>
    public long Failed => Read(Field.Failed);

    /// <summary>Every request dropped, whatever the reason.</summary>
    public long Dropped => Malformed + NotClientMode + Denied + ((UnknownKey + BadMac) - CryptoNaksSent)
        + NtsMalformed + NtsDisabled + NtsBadAuthenticators + (NtsBadCookies - NtsNaksSent) + RateLimited + Failed;

    internal void CountReceived() => Add(Field.Received);

    internal void CountResponded() => Add(Field.Responded);

    internal void CountAuthenticated() => Add(Field.Authenticated);

    internal void CountMalformed() => Add(Field.Malformed);

    internal void CountNotClientMode() => Add(Field.NotClientMode);

    internal void CountDenied() => Add(Field.Denied);

    internal void CountUnknownKey() => Add(Field.UnknownKey);

    internal void CountBadMac() => Add(Field.BadMac);

    internal void CountCryptoNak() => Add(Field.CryptoNaksSent);

    internal void CountNtsRequest() => Add(Field.NtsRequests);

    internal void CountNtsAuthenticated() => Add(Field.NtsAuthenticated);

    internal void CountNtsNak() => Add(Field.NtsNaksSent);

    internal void CountNtsBadCookie() => Add(Field.NtsBadCookies);

    internal void CountNtsBadAuthenticator() => Add(Field.NtsBadAuthenticators);

    internal void CountNtsMalformed() => Add(Field.NtsMalformed);

    internal void CountNtsDisabled() => Add(Field.NtsDisabled);

    internal void CountRateLimited() => Add(Field.RateLimited);

    internal void CountRateKod() => Add(Field.RateKods);

    internal void CountFailed() => Add(Field.Failed);

    private void Add(Field field) => Interlocked.Increment(ref _cells[((Thread.GetCurrentProcessorId() & _slotMask) * Stride) + (int)field]);

    private long Read(Field field)
    {
        long total = 0;
        for (int slot = 0; slot <= _slotMask; slot++)
        {
            total += Volatile.Read(ref _cells[(slot * Stride) + (int)field]);
        }

        return total;
    }
}
