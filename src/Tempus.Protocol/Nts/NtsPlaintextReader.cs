using System.Buffers.Binary;

namespace Tempus.Protocol;

/// <summary>
/// Walks the extension fields inside a decrypted NTS authenticator (RFC 8915 §5.6): in a response the NTS Cookies,
/// in a request possibly Cookie Placeholders. Allocation-free, with the same hard limits as
/// <see cref="ExtensionFieldReader"/>, except that RFC 8915 §5.6 lets encrypted fields be shorter than 16 bytes:
/// any multiple of 4 from the 4-byte header up.
/// </summary>
public ref struct NtsPlaintextReader
{
    /// <summary>The shortest encrypted field: its header alone.</summary>
    public const int MinFieldLength = ExtensionField.HeaderSize;

    private readonly ReadOnlySpan<byte> _plaintext;
    private readonly int _maxFields;
    private int _position;
    private NtpParseStatus _error;

    /// <summary>Creates a reader with the default limit of <see cref="ExtensionFieldReader.MaxFields"/> fields.</summary>
    /// <param name="plaintext">The AEAD plaintext.</param>
    public NtsPlaintextReader(ReadOnlySpan<byte> plaintext)
        : this(plaintext, ExtensionFieldReader.MaxFields)
    {
    }

    /// <summary>Creates a reader with an explicit cap on the number of fields.</summary>
    /// <param name="plaintext">The AEAD plaintext.</param>
    /// <param name="maxFields">How many fields to accept before reporting <see cref="NtpParseStatus.TooManyExtensionFields"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxFields"/> is negative.</exception>
    public NtsPlaintextReader(ReadOnlySpan<byte> plaintext, int maxFields)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxFields);
        _plaintext = plaintext;
        _maxFields = maxFields;
    }

    /// <summary>The plaintext offset of the next field, or of the field that failed after an error.</summary>
    public readonly int Offset => _position;

    /// <summary>How many fields have been read so far.</summary>
    public int Count { readonly get; private set; }

    /// <summary>Whether every byte has been consumed as well-formed fields.</summary>
    public readonly bool IsAtEnd => _error == NtpParseStatus.Ok && _position == _plaintext.Length;

    /// <summary>Reads the next field; its <see cref="ExtensionField.Offset"/> counts from the start of the plaintext.</summary>
    /// <param name="field">The field, when the result is <see langword="true"/>.</param>
    /// <param name="status"><see cref="NtpParseStatus.Ok"/> on success and at the end; otherwise the error, which <see cref="Offset"/> locates, reported again on every further call.</param>
    /// <returns><see langword="true"/> if a field was read; <see langword="false"/> at the end or on an error.</returns>
    public bool TryReadNext(out ExtensionField field, out NtpParseStatus status)
    {
        field = default;
        status = _error;
        if (status != NtpParseStatus.Ok || _position == _plaintext.Length)
        {
            return false;
        }

        ReadOnlySpan<byte> rest = _plaintext.Slice(_position);
        int length = rest.Length < ExtensionField.HeaderSize ? 0 : BinaryPrimitives.ReadUInt16BigEndian(rest.Slice(2));
        status = rest.Length < ExtensionField.HeaderSize ? NtpParseStatus.ExtensionFieldTruncated
            : Count >= _maxFields ? NtpParseStatus.TooManyExtensionFields
            : length < MinFieldLength ? NtpParseStatus.InvalidExtensionFieldLength
            : (length & 3) != 0 ? NtpParseStatus.MisalignedExtensionFieldLength
            : length > rest.Length ? NtpParseStatus.ExtensionFieldTruncated
            : NtpParseStatus.Ok;
        if (status != NtpParseStatus.Ok)
        {
            _error = status;
            return false;
        }

        field = new ExtensionField(BinaryPrimitives.ReadUInt16BigEndian(rest), rest.Slice(ExtensionField.HeaderSize, length - ExtensionField.HeaderSize), _position);
        _position += length;
        Count++;
        return true;
    }
}
