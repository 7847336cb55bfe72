namespace Tempus.Protocol;

/// <summary>NTS-KE error codes carried by an <see cref="NtsKeRecordType.Error"/> record (RFC 8915 §4.1.3, §7.8).</summary>
public enum NtsKeErrorCode : ushort
{
    /// <summary>The request carried a critical record the server does not understand; do not retry unchanged.</summary>
    UnrecognizedCriticalRecord = 0,

    /// <summary>The request was incomplete or malformed, or did not arrive in time; do not retry unchanged.</summary>
    BadRequest = 1,

    /// <summary>The server could not answer because of an internal condition; the client may retry.</summary>
    InternalServerError = 2,
}
