using System.Buffers.Binary;
using System.Globalization;

namespace Tempus.Protocol;

/// <summary>
/// An NTP timestamp as carried on the wire (RFC 5905 §6): 32 bits of seconds and 32 bits of fraction,
/// counted from the start of an NTP era. Era 0 starts 1900-01-01 00:00:00 UTC, era 1 starts
/// 2036-02-07 06:28:16 UTC; the era number is not on the wire, so conversions to absolute time take a
/// pivot and pick the instant nearest to it.
/// </summary>
/// <remarks>
/// All conversions are integer arithmetic: a nanosecond survives a round trip exactly, because one unit
/// of the fraction (2^-32 s, about 0.23 ns) is finer than a nanosecond. <see cref="CompareTo"/> orders the
/// raw 64-bit values; use the difference operator to compare instants that may straddle an era boundary.
/// </remarks>
public readonly struct NtpTimestamp : IEquatable<NtpTimestamp>, IComparable<NtpTimestamp>
{
    /// <summary>Seconds from the NTP prime epoch (1900-01-01, era 0) to the Unix epoch (1970-01-01).</summary>
    public const long UnixEpochNtpSeconds = 2_208_988_800;

    /// <summary>Size of a timestamp on the wire, in bytes.</summary>
    public const int Size = 8;

    private const long NanosecondsPerSecond = 1_000_000_000;

    // new DateTime(1900, 1, 1).Ticks: 693595 days of 864,000,000,000 ticks.
    private const long Era0Ticks = 599_266_080_000_000_000;

    /// <summary>Creates a timestamp from its 64-bit wire value (seconds in the high half, fraction in the low half).</summary>
    /// <param name="value">The 32.32 fixed-point value.</param>
    public NtpTimestamp(ulong value) => Value = value;

    /// <summary>Creates a timestamp from its two 32-bit halves.</summary>
    /// <param name="seconds">Seconds since the start of the era.</param>
    /// <param name="fraction">Fraction of a second in units of 2^-32 s.</param>
    public NtpTimestamp(uint seconds, uint fraction) => Value = ((ulong)seconds << 32) | fraction;

    /// <summary>The zero timestamp, which RFC 5905 §6 reserves to mean "unknown" or "not set".</summary>
    public static NtpTimestamp Zero => default;

    /// <summary>The 64-bit 32.32 fixed-point value as it appears on the wire.</summary>
    public ulong Value { get; }

    /// <summary>Whole seconds since the start of the era (the high 32 bits).</summary>
    public uint Seconds => (uint)(Value >> 32);

    /// <summary>Fraction of a second in units of 2^-32 s (the low 32 bits).</summary>
    public uint Fraction => (uint)Value;

    /// <summary>Whether this is the zero timestamp, which RFC 5905 §6 treats as "not set" rather than as 1900-01-01.</summary>
    public bool IsZero => Value == 0;

    /// <summary>Reads a big-endian timestamp.</summary>
    /// <param name="source">At least 8 bytes; only the first 8 are read.</param>
    /// <returns>The timestamp.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="source"/> is shorter than 8 bytes.</exception>
    public static NtpTimestamp Read(ReadOnlySpan<byte> source) => new(BinaryPrimitives.ReadUInt64BigEndian(source));

    /// <summary>Writes the timestamp big-endian.</summary>
    /// <param name="destination">At least 8 bytes; only the first 8 are written.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="destination"/> is shorter than 8 bytes.</exception>
    public void Write(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);

    /// <summary>
    /// Converts nanoseconds since the Unix epoch to a timestamp, wrapping into whatever era the instant falls in
    /// (1900 to 2036 is era 0, 2036 to 2172 era 1). The fraction is rounded to the nearest 2^-32 s.
    /// </summary>
    /// <param name="unixNanoseconds">Nanoseconds since 1970-01-01 00:00:00 UTC, negative before it.</param>
    /// <returns>The timestamp.</returns>
    public static NtpTimestamp FromUnixTimeNanoseconds(long unixNanoseconds)
    {
        long seconds = FloorDivRem(unixNanoseconds, NanosecondsPerSecond, out long nanoseconds);
        // nanoseconds < 10^9, so (nanoseconds << 32) < 2^62 and the rounded quotient stays below 2^32.
        uint fraction = (uint)((((ulong)nanoseconds << 32) + (NanosecondsPerSecond / 2)) / NanosecondsPerSecond);
        return new NtpTimestamp(unchecked((uint)(seconds + UnixEpochNtpSeconds)), fraction);
    }

    /// <summary>
    /// Converts to nanoseconds since the Unix epoch, choosing the era that puts the result nearest to
    /// <paramref name="pivotUnixNanoseconds"/> (within -2^31 to +2^31 seconds of it).
    /// </summary>
    /// <param name="pivotUnixNanoseconds">An instant known to be within 68 years of the timestamp, typically the local clock.</param>
    /// <returns>Nanoseconds since 1970-01-01 00:00:00 UTC, the fraction rounded to the nearest nanosecond.</returns>
    /// <exception cref="OverflowException">The resolved instant lies outside the range of <see cref="long"/> nanoseconds (years 1677 to 2262).</exception>
    public long ToUnixTimeNanoseconds(long pivotUnixNanoseconds)
    {
        long pivotSeconds = FloorDivRem(pivotUnixNanoseconds, NanosecondsPerSecond, out _) + UnixEpochNtpSeconds;
        long unixSeconds = ResolveSeconds(pivotSeconds) - UnixEpochNtpSeconds;
        return checked((unixSeconds * NanosecondsPerSecond) + FractionToNanoseconds());
    }

    /// <summary>Converts a UTC <see cref="DateTime"/> to a timestamp in whatever era it falls in.</summary>
    /// <param name="utc">A UTC (or unspecified, taken as UTC) date and time; its 100 ns ticks are rounded to the nearest 2^-32 s.</param>
    /// <returns>The timestamp.</returns>
    /// <exception cref="ArgumentException"><paramref name="utc"/> has kind <see cref="DateTimeKind.Local"/>.</exception>
    public static NtpTimestamp FromDateTime(DateTime utc)
    {
        if (utc.Kind == DateTimeKind.Local)
        {
            ThrowHelper.ThrowLocalDateTime(nameof(utc));
        }

        long seconds = FloorDivRem(utc.Ticks - Era0Ticks, TimeSpan.TicksPerSecond, out long ticks);
        uint fraction = (uint)((((ulong)ticks << 32) + (TimeSpan.TicksPerSecond / 2)) / TimeSpan.TicksPerSecond);
        return new NtpTimestamp(unchecked((uint)seconds), fraction);
    }

    /// <summary>Converts to a UTC <see cref="DateTime"/>, choosing the era that puts the result nearest to <paramref name="pivotUtc"/>.</summary>
    /// <param name="pivotUtc">A UTC instant known to be within 68 years of the timestamp.</param>
    /// <returns>A <see cref="DateTimeKind.Utc"/> date and time, rounded to the nearest 100 ns tick.</returns>
    /// <exception cref="ArgumentException"><paramref name="pivotUtc"/> has kind <see cref="DateTimeKind.Local"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The resolved instant is outside the range of <see cref="DateTime"/>.</exception>
    public DateTime ToDateTime(DateTime pivotUtc)
    {
        long seconds = ResolveSeconds(PivotSeconds(pivotUtc));
        long ticks = Era0Ticks + (seconds * TimeSpan.TicksPerSecond)
            + (long)((((ulong)Fraction * TimeSpan.TicksPerSecond) + (1UL << 31)) >> 32);
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(pivotUtc), pivotUtc, "the timestamp resolved near this pivot is outside the range of DateTime");
        }

        return new DateTime(ticks, DateTimeKind.Utc);
    }

    /// <summary>
    /// The signed difference <c>a - b</c> in 32.32 fixed point (units of 2^-32 s), computed modulo 2^64 so it is
    /// correct across an era boundary as long as the two instants are less than 68 years apart (RFC 5905 §6).
    /// </summary>
    /// <param name="a">The minuend.</param>
    /// <param name="b">The subtrahend.</param>
    /// <returns>The difference; convert with <see cref="FixedToSeconds"/> only for display or statistics.</returns>
    public static long operator -(NtpTimestamp a, NtpTimestamp b) => unchecked((long)(a.Value - b.Value));

    /// <summary>Adds a signed 32.32 fixed-point offset, wrapping modulo 2^64 (that is, into the next or previous era).</summary>
    /// <param name="t">The timestamp.</param>
    /// <param name="fixedDelta">The offset in units of 2^-32 s.</param>
    /// <returns>The shifted timestamp.</returns>
    public static NtpTimestamp operator +(NtpTimestamp t, long fixedDelta) => new(unchecked(t.Value + (ulong)fixedDelta));

    /// <summary>Named alternative to the subtraction operator: the era-safe signed difference in 32.32 fixed point.</summary>
    /// <param name="other">The timestamp to subtract.</param>
    /// <returns><c>this - other</c> in units of 2^-32 s.</returns>
    public long Subtract(NtpTimestamp other) => this - other;

    /// <summary>Named alternative to the addition operator.</summary>
    /// <param name="fixedDelta">The offset in units of 2^-32 s.</param>
    /// <returns>The shifted timestamp.</returns>
    public NtpTimestamp Add(long fixedDelta) => this + fixedDelta;

    /// <summary>Converts a 32.32 fixed-point duration to seconds. For display and statistics only, never for the wire.</summary>
    /// <param name="fixedPoint">A duration in units of 2^-32 s.</param>
    /// <returns>The duration in seconds.</returns>
    public static double FixedToSeconds(long fixedPoint) => fixedPoint / 4294967296.0;

    /// <summary>Converts seconds to a 32.32 fixed-point duration, rounding to the nearest unit and saturating at the range of <see cref="long"/>.</summary>
    /// <param name="seconds">A duration in seconds.</param>
    /// <returns>The duration in units of 2^-32 s.</returns>
    /// <exception cref="ArgumentException"><paramref name="seconds"/> is NaN.</exception>
    public static long SecondsToFixed(double seconds)
    {
        if (double.IsNaN(seconds))
        {
            ThrowHelper.ThrowArgument(nameof(seconds), "a duration of NaN seconds cannot be converted to fixed point");
        }

        double scaled = Math.Round(seconds * 4294967296.0);
        if (scaled >= 9223372036854775808.0)
        {
            return long.MaxValue;
        }

        if (scaled <= -9223372036854775808.0)
        {
            return long.MinValue;
        }

        return (long)scaled;
    }

    /// <summary>Formats the resolved instant as ISO 8601 UTC with nanoseconds, e.g. <c>2036-02-07T06:28:16.000000000Z</c>.</summary>
    /// <param name="pivotUtc">A UTC instant within 68 years of the timestamp, used to pick the era.</param>
    /// <returns>The formatted instant.</returns>
    /// <exception cref="ArgumentException"><paramref name="pivotUtc"/> has kind <see cref="DateTimeKind.Local"/>.</exception>
    public string ToString(DateTime pivotUtc)
    {
        long seconds = ResolveSeconds(PivotSeconds(pivotUtc));
        long nanoseconds = FractionToNanoseconds();
        if (nanoseconds == NanosecondsPerSecond)
        {
            seconds++;
            nanoseconds = 0;
        }

        var whole = new DateTime(Era0Ticks + (seconds * TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        return string.Create(CultureInfo.InvariantCulture, $"{whole:yyyy'-'MM'-'dd'T'HH':'mm':'ss}.{nanoseconds:D9}Z");
    }

    /// <summary>Formats the raw wire value as <c>0x</c> and 16 hexadecimal digits; use <see cref="ToString(DateTime)"/> for a date.</summary>
    /// <returns>The hexadecimal value.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"0x{Value:X16}");

    /// <inheritdoc/>
    public bool Equals(NtpTimestamp other) => Value == other.Value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NtpTimestamp other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Value.GetHashCode();

    /// <summary>Orders by the raw 64-bit value, which is not chronological across an era boundary.</summary>
    /// <param name="other">The timestamp to compare with.</param>
    /// <returns>Negative, zero or positive as this raw value is below, equal to or above the other.</returns>
    public int CompareTo(NtpTimestamp other) => Value.CompareTo(other.Value);

    /// <summary>Equality of the raw values.</summary>
    /// <param name="left">The first timestamp.</param>
    /// <param name="right">The second timestamp.</param>
    /// <returns>Whether the wire values are equal.</returns>
    public static bool operator ==(NtpTimestamp left, NtpTimestamp right) => left.Equals(right);

    /// <summary>Inequality of the raw values.</summary>
    /// <param name="left">The first timestamp.</param>
    /// <param name="right">The second timestamp.</param>
    /// <returns>Whether the wire values differ.</returns>
    public static bool operator !=(NtpTimestamp left, NtpTimestamp right) => !left.Equals(right);

    /// <summary>Raw-value ordering (not era-aware; see <see cref="CompareTo"/>).</summary>
    /// <param name="left">The first timestamp.</param>
    /// <param name="right">The second timestamp.</param>
    /// <returns>Whether the left raw value is smaller.</returns>
    public static bool operator <(NtpTimestamp left, NtpTimestamp right) => left.Value < right.Value;

    /// <summary>Raw-value ordering (not era-aware; see <see cref="CompareTo"/>).</summary>
    /// <param name="left">The first timestamp.</param>
    /// <param name="right">The second timestamp.</param>
    /// <returns>Whether the left raw value is larger.</returns>
    public static bool operator >(NtpTimestamp left, NtpTimestamp right) => left.Value > right.Value;

    /// <summary>Raw-value ordering (not era-aware; see <see cref="CompareTo"/>).</summary>
    /// <param name="left">The first timestamp.</param>
    /// <param name="right">The second timestamp.</param>
    /// <returns>Whether the left raw value is smaller or equal.</returns>
    public static bool operator <=(NtpTimestamp left, NtpTimestamp right) => left.Value <= right.Value;

    /// <summary>Raw-value ordering (not era-aware; see <see cref="CompareTo"/>).</summary>
    /// <param name="left">The first timestamp.</param>
    /// <param name="right">The second timestamp.</param>
    /// <returns>Whether the left raw value is larger or equal.</returns>
    public static bool operator >=(NtpTimestamp left, NtpTimestamp right) => left.Value >= right.Value;

    // Seconds since 1900-01-01 (era 0), unbounded: negative before 1900, above 2^32 from era 1 on.
    private long ResolveSeconds(long pivotSeconds) =>
        pivotSeconds + unchecked((int)(Seconds - (uint)pivotSeconds));

    // Rounded to nearest; may return exactly 10^9 for fractions within half a nanosecond of the next second.
    private long FractionToNanoseconds() =>
        (long)((((ulong)Fraction * NanosecondsPerSecond) + (1UL << 31)) >> 32);

    private static long PivotSeconds(DateTime pivotUtc)
    {
        if (pivotUtc.Kind == DateTimeKind.Local)
        {
            ThrowHelper.ThrowLocalDateTime(nameof(pivotUtc));
        }

        return FloorDivRem(pivotUtc.Ticks - Era0Ticks, TimeSpan.TicksPerSecond, out _);
    }

    private static long FloorDivRem(long value, long divisor, out long remainder)
    {
        long quotient = Math.DivRem(value, divisor, out remainder);
        if (remainder < 0)
        {
            remainder += divisor;
            quotient--;
        }

        return quotient;
    }
}
