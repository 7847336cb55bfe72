using System.Diagnostics.CodeAnalysis;

namespace Tempus.Protocol;

/// <summary>Throw sites kept out of line so the callers stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowNtpFormatException(NtpParseStatus status, int offset, ReadOnlySpan<byte> datagram) =>
        throw new NtpFormatException(status, offset, status.Describe(offset, datagram));

    [DoesNotReturn]
    public static void ThrowArgumentOutOfRange(string paramName, object? actualValue, string message) =>
        throw new ArgumentOutOfRangeException(paramName, actualValue, message);

    [DoesNotReturn]
    public static void ThrowArgument(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ThrowLocalDateTime(string paramName) =>
        throw new ArgumentException(
            "a DateTime of kind Local cannot be converted without reading the time zone; pass a UTC DateTime (DateTime.ToUniversalTime())",
            paramName);

    [DoesNotReturn]
    public static void ThrowNtsKeProtocolException(NtsKeProtocolError error, long offset, string message) =>
        throw new NtsKeProtocolException(error, offset, message);
}
