namespace Tempus.Protocol;

/// <summary>One NTPv4 extension field (RFC 7822 §3), a view into the datagram it was read from.</summary>
public readonly ref struct ExtensionField
{
    /// <summary>Size of the type and length header that starts every field.</summary>
    public const int HeaderSize = 4;

    /// <summary>Creates a view of a field.</summary>
    /// <param name="type">The field type.</param>
    /// <param name="value">The body after the 4-byte header, padding included.</param>
    /// <param name="offset">Where the field starts, from the start of the datagram.</param>
    public ExtensionField(ushort type, ReadOnlySpan<byte> value, int offset)
    {
        Type = type;
        Value = value;
        Offset = offset;
    }

    /// <summary>The field type (see <see cref="ExtensionFieldType"/>).</summary>
    public ushort Type { get; }

    /// <summary>
    /// The body after the 4-byte type and length header, including any padding: the field formats themselves
    /// say how much of it is meaningful (e.g. RFC 8915 §5.6 carries its own nonce and ciphertext lengths).
    /// </summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>Where the field starts, counted from the start of the datagram.</summary>
    public int Offset { get; }

    /// <summary>The total length of the field, header and padding included, as in its Length field.</summary>
    public int Length => HeaderSize + Value.Length;
}
