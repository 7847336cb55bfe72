using System.Buffers;

namespace Tempus.Protocol;

/// <summary>
/// One NTS-KE record (RFC 8915 §4, Figure 2), read by <see cref="NtsKeRecordReader"/>.
/// </summary>
/// <remarks>
/// The body is a <see cref="ReadOnlySequence{T}"/> slice of the buffer it was read from, so a body that spans two
/// segments of a pipe is never copied; it stays valid only as long as that buffer (for a pipe, until the reader
/// is advanced past it). Copy what must outlive it.
/// </remarks>
public readonly struct NtsKeRecord : IEquatable<NtsKeRecord>
{
    /// <summary>Size of the critical bit, type and body length header.</summary>
    public const int HeaderSize = 4;

    /// <summary>The largest record type: the type is 15 bits, the 16th is the critical bit.</summary>
    public const ushort MaxType = 0x7FFF;

    /// <summary>Creates a record.</summary>
    /// <param name="critical">The critical bit.</param>
    /// <param name="type">The record type, at most <see cref="MaxType"/>.</param>
    /// <param name="body">The record body.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> does not fit 15 bits, or the body does not fit the 16-bit length.</exception>
    public NtsKeRecord(bool critical, NtsKeRecordType type, ReadOnlySequence<byte> body)
    {
        if ((ushort)type > MaxType)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(type), type, "the NTS-KE record type is a 15-bit number (RFC 8915 §4)");
        }

        if (body.Length > ushort.MaxValue)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(body), body.Length, "an NTS-KE record body is at most 65535 bytes (16-bit Body Length)");
        }

        Critical = critical;
        Type = type;
        Body = body;
    }

    /// <summary>The critical bit: a receiver that does not know <see cref="Type"/> must reject the message if it is set and ignore the record otherwise.</summary>
    public bool Critical { get; }

    /// <summary>The record type; values outside <see cref="NtsKeRecordType"/>'s names are records this library does not know.</summary>
    public NtsKeRecordType Type { get; }

    /// <summary>The record body, a view of the buffer it was read from.</summary>
    public ReadOnlySequence<byte> Body { get; }

    /// <summary>The body length as on the wire.</summary>
    public int BodyLength => (int)Body.Length;

    /// <summary>The total record length, header included.</summary>
    public int Length => HeaderSize + BodyLength;

    /// <summary>Compares two records by critical bit, type and body bytes.</summary>
    /// <param name="left">One record.</param>
    /// <param name="right">The other record.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(NtsKeRecord left, NtsKeRecord right) => left.Equals(right);

    /// <summary>Compares two records by critical bit, type and body bytes.</summary>
    /// <param name="left">One record.</param>
    /// <param name="right">The other record.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(NtsKeRecord left, NtsKeRecord right) => !left.Equals(right);

    /// <inheritdoc/>
    public bool Equals(NtsKeRecord other)
    {
        if (Critical != other.Critical || Type != other.Type || Body.Length != other.Body.Length)
        {
            return false;
        }

        if (Body.IsSingleSegment && other.Body.IsSingleSegment)
        {
            return Body.FirstSpan.SequenceEqual(other.Body.FirstSpan);
        }

        return Body.ToArray().AsSpan().SequenceEqual(other.Body.ToArray());
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NtsKeRecord other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Critical, Type, Body.Length);

    /// <inheritdoc/>
    public override string ToString() =>
        NtsKeRecordReader.Describe(Type) + (Critical ? " (critical), " : ", ") + Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes";
}
