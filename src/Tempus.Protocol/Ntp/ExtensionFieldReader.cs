using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>
/// Walks the extension fields of an NTPv4 datagram (RFC 7822 §3) with hard limits: every length is checked
/// before slicing, and the number of fields is capped. Allocation-free.
/// </summary>
/// <remarks>
/// Give it exactly the extension-field region (<see cref="NtpPacketLayout.GetExtensionFields"/> does), not the MAC
/// that may follow: this reader does not decide where the fields end and the MAC begins.
/// </remarks>
public ref struct ExtensionFieldReader
{
    /// <summary>The default cap on the number of fields in one datagram.</summary>
    public const int MaxFields = 64;

    /// <summary>The smallest legal field length (RFC 7822 §3: four words, header included).</summary>
    public const int MinFieldLength = 16;

    private readonly ReadOnlySpan<byte> _fields;
    private readonly int _baseOffset;
    private readonly int _maxFields;
    private int _position;
    private NtpParseStatus _error;

    /// <summary>Creates a reader with the default limit of <see cref="MaxFields"/> fields.</summary>
    /// <param name="fields">The bytes holding only extension fields.</param>
    /// <param name="baseOffset">The offset of <paramref name="fields"/> in the datagram, used in reported offsets (48 for a normal packet).</param>
    public ExtensionFieldReader(ReadOnlySpan<byte> fields, int baseOffset)
        : this(fields, baseOffset, MaxFields)
    {
    }

    /// <summary>Creates a reader with an explicit cap on the number of fields.</summary>
    /// <param name="fields">The bytes holding only extension fields.</param>
    /// <param name="baseOffset">The offset of <paramref name="fields"/> in the datagram, used in reported offsets.</param>
    /// <param name="maxFields">How many fields to accept before reporting <see cref="NtpParseStatus.TooManyExtensionFields"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFields"/> or <paramref name="baseOffset"/> is negative.</exception>
    public ExtensionFieldReader(ReadOnlySpan<byte> fields, int baseOffset, int maxFields)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(baseOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFields);
        _fields = fields;
        _baseOffset = baseOffset;
        _maxFields = maxFields;
    }

    /// <summary>The datagram offset of the next field, or of the field that failed after an error.</summary>
    public readonly int Offset => _baseOffset + _position;

    /// <summary>How many fields have been read so far.</summary>
    public int Count { readonly get; private set; }

    /// <summary>Whether every byte has been consumed as well-formed fields.</summary>
    public readonly bool IsAtEnd => _error == NtpParseStatus.Ok && _position == _fields.Length;

    /// <summary>Reads the next field.</summary>
    /// <param name="field">The field, when the result is <see langword="true"/>.</param>
    /// <param name="status">
    /// <see cref="NtpParseStatus.Ok"/> on success and at the end; otherwise the error, which <see cref="Offset"/> locates.
    /// Once an error is reported, every further call reports it again.
    /// </param>
    /// <returns><see langword="true"/> if a field was read; <see langword="false"/> at the end or on an error.</returns>
    public bool TryReadNext(out ExtensionField field, out NtpParseStatus status)
    {
        field = default;
        status = _error;
        if (status != NtpParseStatus.Ok)
        {
            return false;
        }

        int remaining = _fields.Length - _position;
        if (remaining == 0)
        {
            return false;
        }

        status = Check(_fields.Slice(_position), Count, _maxFields, out ushort type, out int length);
        if (status != NtpParseStatus.Ok)
        {
            _error = status;
            return false;
        }

        field = new ExtensionField(type, _fields.Slice(_position + ExtensionField.HeaderSize, length - ExtensionField.HeaderSize), Offset);
        _position += length;
        Count++;
        return true;
    }

    // The one place field lengths are validated; NtpPacketLayout uses it too, so the two cannot disagree.
    internal static NtpParseStatus Check(ReadOnlySpan<byte> rest, int count, int maxFields, out ushort type, out int length)
    {
        type = 0;
        length = 0;
        if (rest.Length < ExtensionField.HeaderSize)
        {
            return NtpParseStatus.ExtensionFieldTruncated;
        }

        if (count >= maxFields)
        {
            return NtpParseStatus.TooManyExtensionFields;
        }

        type = BinaryPrimitives.ReadUInt16BigEndian(rest);
        length = BinaryPrimitives.ReadUInt16BigEndian(rest.Slice(2));
        if (length < MinFieldLength)
        {
            return NtpParseStatus.InvalidExtensionFieldLength;
        }

        if ((length & 3) != 0)
        {
            return NtpParseStatus.MisalignedExtensionFieldLength;
        }

        if (length > rest.Length)
        {
            return NtpParseStatus.ExtensionFieldTruncated;
        }

        return NtpParseStatus.Ok;
    }
}
