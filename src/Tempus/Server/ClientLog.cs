using System.Buffers.Binary;
using System.Net;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Control;
using Tempus.Protocol;

namespace Tempus.Server;

/// <summary>What the rate limit decided for one request.</summary>
public enum RateLimitDecision
{
    /// <summary>Answer normally.</summary>
    Pass,

    /// <summary>Drop the request (counted as a drop for the client and in the totals).</summary>
    Drop,

    /// <summary>Answer with a Kiss-o'-Death RATE (RFC 5905 §7.4) instead of the time; NTP only.</summary>
    Kod,
}

/// <summary>
/// The client table behind <c>ratelimit</c>, <c>ntsratelimit</c>, <c>clientloglimit</c> and <c>tempusctl clients</c>,
/// with chrony's semantics: one record per client address with its NTP and NTS-KE request counts, drops, average
/// interval and a token bucket per service. A client may send <c>burst</c> requests back to back and then one per
/// 2^<c>interval</c> seconds on average; beyond that one request in 2^<c>leak</c> is still answered at random (so a
/// spoofed flood cannot cut the real owner of an address off), and with <c>kod K</c> one in 2^K of the rest gets a
/// KoD RATE instead of silence. A client that polls faster when its requests go unanswered (more than twice as fast)
/// is answered mostly, as chrony does, since dropping only makes it send more.
/// </summary>
/// <remarks>
/// <para>Memory: records live in a fixed number of stripes, each a hash table of buckets of 16 records that doubles
/// (under that stripe's lock, rarely) until the stripes together reach the <c>clientloglimit</c> budget; after that a
/// new client replaces the least recently seen record of its bucket, counted in <see cref="RecordsDropped"/>. Nothing
/// is allocated per request.</para>
/// <para>Threads: every server worker logs into the same table, because with SO_REUSEPORT the kernel spreads one
/// client's requests over workers by source port, and a per-worker table would let a client multiply its rate by the
/// number of workers. Contention is kept off the hot path by striping: up to 64 stripes chosen by a keyed hash of the
/// address, each with its own lock held for a few dozen instructions, and per-stripe totals summed only when read.</para>
/// <para>Time is the request's receive timestamp (NTP format), so tests run on simulated time; a clock step
/// backwards leaves the buckets as they are (no refill), as chrony does.</para>
/// </remarks>
public sealed class ClientLog
{
    /// <summary>The interval reported for a client without two requests yet (chronyc prints "-").</summary>
    public const int UnknownInterval = 127;

    private const int BucketSize = 16;
    private const int MaxStripes = 64;
    private const int RateScale = 16;
    private const short UnknownRate = short.MinValue;
    private const byte FlagUsed = 1;
    private const byte FlagNtpDropped = 2;

    private readonly Stripe[] _stripes;
    private readonly int _stripeMask;
    private readonly int _maxBucketsPerStripe;
    private readonly ISystemClock _clock;
    private readonly Bucket _ntp;
    private readonly Bucket _ntsKe;

    /// <summary>Creates an empty table.</summary>
    /// <param name="memoryLimit">Bytes the records may take (<c>clientloglimit</c>); at least one bucket of 16 records is kept.</param>
    /// <param name="ntpLimit"><c>ratelimit</c>, or null to count NTP requests without limiting them.</param>
    /// <param name="ntsKeLimit"><c>ntsratelimit</c>, or null to count NTS-KE connections without limiting them (its kod is ignored).</param>
    /// <param name="clock">The clock read for NTS-KE connections and for the "last seen" ages in reports.</param>
    public ClientLog(long memoryLimit, RateLimitOptions? ntpLimit, RateLimitOptions? ntsKeLimit, ISystemClock clock)
        : this(memoryLimit, ntpLimit, ntsKeLimit, clock, BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8)))
    {
    }

    internal ClientLog(long memoryLimit, RateLimitOptions? ntpLimit, RateLimitOptions? ntsKeLimit, ISystemClock clock, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(clock);
        _clock = clock;
        _ntp = new Bucket(ntpLimit, allowKod: true);
        _ntsKe = new Bucket(ntsKeLimit, allowKod: false);

        long maxRecords = Math.Max(BucketSize, memoryLimit / RecordSize);
        long maxBuckets = maxRecords / BucketSize;
        // Stripes enough for the workers not to meet, but each able to hold at least 4 buckets.
        int stripes = (int)Math.Clamp(BitOperations.RoundUpToPowerOf2((ulong)Math.Max(1, maxBuckets / 4) + 1) / 2, 1, MaxStripes);
        _stripeMask = stripes - 1;
        long perStripe = Math.Clamp(maxBuckets / stripes, 1, 1 << 20);
        _maxBucketsPerStripe = (int)BitOperations.RoundUpToPowerOf2((ulong)perStripe + 1) / 2;
        _stripes = new Stripe[stripes];
        ulong state = seed | 1;
        for (int i = 0; i < stripes; i++)
        {
            state = SplitMix(ref state);
            _stripes[i] = new Stripe(state | 1);
        }
    }

    /// <summary>Bytes one record takes.</summary>
    public static int RecordSize => Unsafe.SizeOf<Record>();

    /// <summary>Creates the table a configuration asks for; null under <c>noclientlog</c> (no table, no rate limit).</summary>
    public static ClientLog? FromConfiguration(TempusConfiguration config, ISystemClock clock)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.NoClientLog ? null : new ClientLog(config.ClientLogLimit, config.RateLimit, config.NtsRateLimit, clock);
    }

    /// <summary>The most records the table will hold (<c>clientloglimit</c> divided by <see cref="RecordSize"/>, rounded down per stripe).</summary>
    public long Capacity => (long)_stripes.Length * _maxBucketsPerStripe * BucketSize;

    /// <summary>Whether NTP requests are rate limited (<c>ratelimit</c>).</summary>
    public bool LimitsNtp => _ntp.Enabled;

    /// <summary>Whether NTS-KE connections are rate limited (<c>ntsratelimit</c>).</summary>
    public bool LimitsNtsKe => _ntsKe.Enabled;

    /// <summary>Records in use.</summary>
    public long Count => Sum(static s => s.Count);

    /// <summary>NTP requests logged.</summary>
    public long NtpHits => Sum(static s => s.NtpHits);

    /// <summary>NTP requests dropped by the rate limit.</summary>
    public long NtpDrops => Sum(static s => s.NtpDrops);

    /// <summary>KoD RATE responses decided.</summary>
    public long NtpKods => Sum(static s => s.NtpKods);

    /// <summary>NTS-KE connections logged.</summary>
    public long NtsKeHits => Sum(static s => s.NtsKeHits);

    /// <summary>NTS-KE connections refused by the rate limit.</summary>
    public long NtsKeDrops => Sum(static s => s.NtsKeDrops);

    /// <summary>Records replaced by a new client because the table was full (chronyc's "Client log records dropped").</summary>
    public long RecordsDropped => Sum(static s => s.RecordsDropped);

    /// <summary>Logs an NTP request from <paramref name="address"/> (IPv4-mapped for IPv4) received at <paramref name="now"/>, and applies <c>ratelimit</c>.</summary>
    public RateLimitDecision LogNtpAccess(UInt128 address, NtpTimestamp now) => Log(address, now, ntp: true);

    /// <summary>Logs an NTS-KE connection from <paramref name="address"/> at <paramref name="now"/>, and applies <c>ntsratelimit</c> (never KoD).</summary>
    public RateLimitDecision LogNtsKeAccess(UInt128 address, NtpTimestamp now) => Log(address, now, ntp: false);

    /// <summary>
    /// The NTS-KE accept hook: logs a connection from <paramref name="remote"/> now and says whether to serve it;
    /// false means close it at once (<c>ntsratelimit</c>).
    /// </summary>
    public bool AdmitNtsKe(IPAddress remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        return LogNtsKeAccess(ToMapped(remote), _clock.NtpNow) != RateLimitDecision.Drop;
    }

    /// <summary>
    /// The rows of <c>tempusctl clients</c>: clients with NTP requests (or with NTS-KE connections when
    /// <paramref name="ntsKe"/>), most recently seen first, at most <paramref name="max"/>.
    /// </summary>
    public IReadOnlyList<ClientReport> Snapshot(bool ntsKe, int max) => Snapshot(ntsKe, max, minHits: 1, reset: false);

    /// <summary>
    /// The rows of <c>tempusctl clients [-p N] [-r]</c> (chronyc's <c>clients -p -r</c>): clients with at least
    /// <paramref name="minHits"/> NTP requests (NTS-KE connections when <paramref name="ntsKe"/>), most recently
    /// seen first, at most <paramref name="max"/>. With <paramref name="reset"/>, the request and drop counters of
    /// every such client go back to zero in the same pass, so nothing counted between the report and the reset is
    /// lost; the server's totals (<c>serverstats</c>), the rate-limit state and the last-seen times are kept.
    /// </summary>
    /// <param name="ntsKe">Report the NTS-KE side.</param>
    /// <param name="max">Most rows returned (the newest).</param>
    /// <param name="minHits">Least requests (or connections) a client needs to be reported; at least 1.</param>
    /// <param name="reset">Zero the reported clients' request and drop counters.</param>
    public IReadOnlyList<ClientReport> Snapshot(bool ntsKe, int max, long minHits, bool reset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        ArgumentOutOfRangeException.ThrowIfLessThan(minHits, 1);
        NtpTimestamp now = _clock.NtpNow;
        var rows = new List<(long Age, ClientReport Row)>();
        foreach (Stripe stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                foreach (ref Record r in stripe.Records.AsSpan())
                {
                    if ((r.Flags & FlagUsed) == 0 || (ntsKe ? r.NtsKeHits : r.NtpHits) < minHits)
                    {
                        continue;
                    }

                    long age = AgeFixed(now, ntsKe ? r.LastNtsKe : r.LastNtp);
                    rows.Add((age, new ClientReport
                    {
                        Address = FromMapped(r.Address).ToString(),
                        NtpRequests = r.NtpHits,
                        NtpDropped = r.NtpDrops,
                        NtpInterval = ReportInterval(r.NtpRate),
                        NtpLastAgo = r.LastNtp == 0 ? -1 : NtpTimestamp.FixedToSeconds(AgeFixed(now, r.LastNtp)),
                        NtsKeRequests = r.NtsKeHits,
                        NtsKeDropped = r.NtsKeDrops,
                        NtsKeInterval = ReportInterval(r.NtsKeRate),
                        NtsKeLastAgo = r.LastNtsKe == 0 ? -1 : NtpTimestamp.FixedToSeconds(AgeFixed(now, r.LastNtsKe)),
                    }));
                    if (reset)
                    {
                        r.NtpHits = 0;
                        r.NtpDrops = 0;
                        r.NtsKeHits = 0;
                        r.NtsKeDrops = 0;
                    }
                }
            }
        }

        return rows.OrderBy(r => r.Age).Take(max).Select(r => r.Row).ToArray();
    }

    /// <summary>Reads an address the way the engine keys clients: IPv4 in the IPv4-mapped IPv6 space.</summary>
    public static UInt128 ToMapped(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> bytes = stackalloc byte[16];
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            bytes[..10].Clear();
            bytes[10] = 0xff;
            bytes[11] = 0xff;
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }

        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    /// <summary>The address a mapped key stands for (IPv4 for the IPv4-mapped range).</summary>
    public static IPAddress FromMapped(UInt128 address)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        var ip = new IPAddress(bytes);
        return ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;
    }

    private RateLimitDecision Log(UInt128 address, NtpTimestamp now, bool ntp)
    {
        ulong hash = Hash(address);
        Stripe stripe = _stripes[(int)hash & _stripeMask];
        lock (stripe.Lock)
        {
            ref Record record = ref Find(stripe, address, hash, now);
            return ntp ? LogNtp(stripe, ref record, now) : LogNtsKe(stripe, ref record, now);
        }
    }

    private RateLimitDecision LogNtp(Stripe stripe, ref Record record, NtpTimestamp now)
    {
        stripe.NtpHits++;
        record.NtpHits++;
        // chrony: the interval since a dropped request feeds a separate average, to spot clients that speed up.
        bool previousDropped = (record.Flags & FlagNtpDropped) != 0;
        if (previousDropped)
        {
            UpdateRate(ref record.NtpTimeoutRate, record.LastNtp, now);
        }
        else
        {
            UpdateRate(ref record.NtpRate, record.LastNtp, now);
        }

        Refill(_ntp, ref record.NtpTokens, record.LastNtp, now);
        record.LastNtp = now.Value;
        record.Flags &= unchecked((byte)~FlagNtpDropped);
        if (!_ntp.Enabled || TryTake(_ntp, ref record.NtpTokens))
        {
            return RateLimitDecision.Pass;
        }

        // Over the limit: one in 2^leak is answered anyway. A client whose requests come more than twice as often
        // when unanswered as when answered is answered mostly instead (the leak inverted), as chrony does.
        bool leak = stripe.OneIn(_ntp.Leak);
        if (record.NtpTimeoutRate != UnknownRate && record.NtpRate != UnknownRate && record.NtpTimeoutRate < record.NtpRate - RateScale)
        {
            leak = !leak;
        }

        if (leak)
        {
            record.NtpTokens = 0;
            return RateLimitDecision.Pass;
        }

        if (_ntp.Kod > 0 && stripe.OneIn(_ntp.Kod))
        {
            stripe.NtpKods++;
            return RateLimitDecision.Kod;
        }

        record.Flags |= FlagNtpDropped;
        record.NtpDrops++;
        stripe.NtpDrops++;
        return RateLimitDecision.Drop;
    }

    private RateLimitDecision LogNtsKe(Stripe stripe, ref Record record, NtpTimestamp now)
    {
        stripe.NtsKeHits++;
        record.NtsKeHits++;
        UpdateRate(ref record.NtsKeRate, record.LastNtsKe, now);
        Refill(_ntsKe, ref record.NtsKeTokens, record.LastNtsKe, now);
        record.LastNtsKe = now.Value;
        if (!_ntsKe.Enabled || TryTake(_ntsKe, ref record.NtsKeTokens) || stripe.OneIn(_ntsKe.Leak))
        {
            return RateLimitDecision.Pass;
        }

        record.NtsKeDrops++;
        stripe.NtsKeDrops++;
        return RateLimitDecision.Drop;
    }

    // Tokens are time, in NTP fixed point (2^-32 s): the bucket fills at one second per second up to burst × 2^interval
    // seconds, and each answer costs 2^interval seconds. A new record starts full (chrony).
    private static void Refill(Bucket bucket, ref long tokens, ulong last, NtpTimestamp now)
    {
        if (!bucket.Enabled)
        {
            return;
        }

        if (last == 0)
        {
            tokens = bucket.MaxTokens;
            return;
        }

        long elapsed = unchecked((long)(now.Value - last));
        if (elapsed > 0)
        {
            tokens = elapsed >= bucket.MaxTokens - tokens ? bucket.MaxTokens : tokens + elapsed;
        }
    }

    private static bool TryTake(Bucket bucket, ref long tokens)
    {
        if (tokens >= bucket.Cost)
        {
            tokens -= bucket.Cost;
            return true;
        }

        return false;
    }

    // The average interval between requests as log2 seconds × 16, an exponential moving average with weight 1/4.
    private static void UpdateRate(ref short rate, ulong last, NtpTimestamp now)
    {
        if (last == 0)
        {
            return;
        }

        long elapsed = unchecked((long)(now.Value - last));
        if (elapsed < 0)
        {
            return;
        }

        int sample = Log2Scaled((ulong)elapsed);
        rate = rate == UnknownRate ? (short)sample : (short)(rate + ((sample - rate) / 4));
    }

    // log2 of a fixed-point interval, × 16: the integer part from the top bit, the fraction linear in the next 4 bits.
    internal static int Log2Scaled(ulong fixedInterval)
    {
        if (fixedInterval == 0)
        {
            return -32 * RateScale;
        }

        int top = BitOperations.Log2(fixedInterval);
        int fraction = (int)((fixedInterval << (63 - top)) >> 59) & (RateScale - 1);
        return ((top - 32) * RateScale) + fraction;
    }

    private static int ReportInterval(short rate) =>
        rate == UnknownRate ? UnknownInterval : (int)Math.Round(rate / (double)RateScale, MidpointRounding.AwayFromZero);

    private static long AgeFixed(NtpTimestamp now, ulong last) => last == 0 ? long.MaxValue : Math.Max(0, unchecked((long)(now.Value - last)));

    private ref Record Find(Stripe stripe, UInt128 address, ulong hash, NtpTimestamp now)
    {
        while (true)
        {
            Span<Record> records = stripe.Records;
            int first = (int)((hash >> 8) & (ulong)(stripe.Buckets - 1)) * BucketSize;
            int free = -1;
            int oldest = -1;
            long oldestAge = -1;
            for (int i = first; i < first + BucketSize; i++)
            {
                ref Record r = ref records[i];
                if ((r.Flags & FlagUsed) == 0)
                {
                    if (free < 0)
                    {
                        free = i;
                    }

                    continue;
                }

                if (r.Address == address)
                {
                    return ref r;
                }

                // Least recently seen goes first; among equals, the one with fewer requests (chrony).
                long age = Math.Min(AgeFixed(now, r.LastNtp), AgeFixed(now, r.LastNtsKe));
                if (age > oldestAge || (age == oldestAge && r.NtpHits + r.NtsKeHits < records[oldest].NtpHits + records[oldest].NtsKeHits))
                {
                    oldest = i;
                    oldestAge = age;
                }
            }

            if (free < 0 && stripe.Buckets < _maxBucketsPerStripe)
            {
                Grow(stripe);
                continue;
            }

            int slot = free;
            if (slot < 0)
            {
                slot = oldest;
                stripe.RecordsDropped++;
            }
            else
            {
                stripe.Count++;
            }

            records[slot] = new Record
            {
                Address = address,
                Flags = FlagUsed,
                NtpRate = UnknownRate,
                NtpTimeoutRate = UnknownRate,
                NtsKeRate = UnknownRate,
            };
            return ref records[slot];
        }
    }

    // Doubles a stripe's table; each record moves to bucket b or b + old, so no bucket can overflow.
    private static void Grow(Stripe stripe)
    {
        Record[] old = stripe.Records;
        int buckets = stripe.Buckets * 2;
        var grown = new Record[buckets * BucketSize];
        var fill = new int[buckets];
        foreach (ref readonly Record r in old.AsSpan())
        {
            if ((r.Flags & FlagUsed) == 0)
            {
                continue;
            }

            int bucket = (int)((Hash(r.Address) >> 8) & (ulong)(buckets - 1));
            grown[(bucket * BucketSize) + fill[bucket]++] = r;
        }

        stripe.Records = grown;
        stripe.Buckets = buckets;
    }

    private static ulong Hash(UInt128 address) =>
        // HashCode is keyed with a per-process random seed: an attacker cannot aim addresses at one bucket.
        (ulong)(uint)HashCode.Combine((ulong)address, (ulong)(address >> 64)) * 0x9E3779B97F4A7C15UL >> 16;

    private long Sum(Func<Stripe, long> read)
    {
        long total = 0;
        foreach (Stripe stripe in _stripes)
        {
            lock (stripe.Lock)
            {
                total += read(stripe);
            }
        }

        return total;
    }

    private static ulong SplitMix(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private struct Record
    {
        public UInt128 Address;
        public ulong LastNtp;
        public ulong LastNtsKe;
        public long NtpTokens;
        public long NtsKeTokens;
        public uint NtpHits;
        public uint NtpDrops;
        public uint NtsKeHits;
        public uint NtsKeDrops;
        public short NtpRate;
        public short NtpTimeoutRate;
        public short NtsKeRate;
        public byte Flags;
    }

    private sealed class Bucket
    {
        public Bucket(RateLimitOptions? options, bool allowKod)
        {
            if (options is null)
            {
                return;
            }

            // chrony's ranges: interval -19..12, burst 1..255, leak 1..4, kod 0..4.
            int interval = Math.Clamp(options.IntervalLog2, -19, 12);
            Enabled = true;
            Cost = 1L << (32 + interval);
            MaxTokens = Cost * Math.Clamp(options.Burst, 1, 255);
            Leak = Math.Clamp(options.Leak, 1, 4);
            Kod = allowKod ? Math.Clamp(options.Kod, 0, 4) : 0;
        }

        public bool Enabled { get; }

        public long Cost { get; }

        public long MaxTokens { get; }

        public int Leak { get; }

        public int Kod { get; }
    }

    private sealed class Stripe(ulong seed)
    {
        private ulong _random = seed;

        public Lock Lock { get; } = new();

        public Record[] Records { get; set; } = new Record[BucketSize];

        public int Buckets { get; set; } = 1;

        public long Count { get; set; }

        public long NtpHits { get; set; }

        public long NtpDrops { get; set; }

        public long NtpKods { get; set; }

        public long NtsKeHits { get; set; }

        public long NtsKeDrops { get; set; }

        public long RecordsDropped { get; set; }

        // True once in 2^bits on average (xorshift64; the stripe's lock is held).
        public bool OneIn(int bits)
        {
            ulong x = _random;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            _random = x;
            return (x >> (64 - bits)) == 0;
        }
    }
}
