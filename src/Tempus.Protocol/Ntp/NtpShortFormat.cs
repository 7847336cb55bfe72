using System.Globalization;

namespace Tempus.Protocol;

/// <summary>
/// The NTP short format (RFC 5905 §6): 16 bits of seconds and 16 bits of fraction, used for root delay and
/// root dispersion. Conversions into it round up and saturate, as chrony does, so a server never understates
/// its distance from the reference.
/// </summary>
public readonly struct NtpShortFormat : IEquatable<NtpShortFormat>
{
    /// <summary>Creates a value from its 32-bit wire representation.</summary>
    /// <param name="value">The 16.16 fixed-point value.</param>
    public NtpShortFormat(uint value) => Value = value;

    /// <summary>The largest representable value, just under 65536 s; conversions saturate to it.</summary>
    public static NtpShortFormat MaxValue => new(uint.MaxValue);

    /// <summary>The 32-bit 16.16 fixed-point value as it appears on the wire.</summary>
    public uint Value { get; }

    /// <summary>Converts seconds, rounding up to the next 2^-16 s; negative values give 0, values too large and NaN give <see cref="MaxValue"/>.</summary>
    /// <param name="seconds">A duration in seconds.</param>
    /// <returns>The short-format value.</returns>
    public static NtpShortFormat FromSeconds(double seconds)
    {
        if (double.IsNaN(seconds))
        {
            // An unknown dispersion is reported as the largest one, which tells a client not to trust the source.
            return MaxValue;
        }

        if (seconds <= 0)
        {
            return default;
        }

        double scaled = Math.Ceiling(seconds * 65536.0);
        return scaled >= uint.MaxValue ? MaxValue : new NtpShortFormat((uint)scaled);
    }

    /// <summary>Converts a 32.32 fixed-point duration, rounding up to the next 2^-16 s; negative values give 0, values too large saturate.</summary>
    /// <param name="fixedPoint">A duration in units of 2^-32 s, as produced by the <see cref="NtpTimestamp"/> difference operator.</param>
    /// <returns>The short-format value.</returns>
    public static NtpShortFormat FromFixed(long fixedPoint)
    {
        if (fixedPoint <= 0)
        {
            return default;
        }

        ulong rounded = ((ulong)fixedPoint + 0xFFFF) >> 16;
        return rounded > uint.MaxValue ? MaxValue : new NtpShortFormat((uint)rounded);
    }

    /// <summary>Converts to seconds, for display and statistics.</summary>
    /// <returns>The duration in seconds.</returns>
    public double ToSeconds() => Value / 65536.0;

    /// <summary>Converts to 32.32 fixed point, exactly.</summary>
    /// <returns>The duration in units of 2^-32 s.</returns>
    public long ToFixed() => (long)Value << 16;

    /// <summary>Formats the value in seconds, e.g. <c>0.015625 s</c>.</summary>
    /// <returns>The formatted duration.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{ToSeconds():0.0#####} s");

    /// <inheritdoc/>
    public bool Equals(NtpShortFormat other) => Value == other.Value;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NtpShortFormat other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Value.GetHashCode();

    /// <summary>Equality of the wire values.</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(NtpShortFormat left, NtpShortFormat right) => left.Equals(right);

    /// <summary>Inequality of the wire values.</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(NtpShortFormat left, NtpShortFormat right) => !left.Equals(right);
}
