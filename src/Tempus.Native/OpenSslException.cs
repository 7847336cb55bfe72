using System.Security.Cryptography;

namespace Tempus.Native;

/// <summary>One entry of the OpenSSL error queue, as ERR_get_error returned it.</summary>
/// <param name="Code">The packed error code (library, reason, system flag).</param>
/// <param name="Text">ERR_error_string_n's rendering, e.g. <c>error:0A000086:SSL routines::certificate verify failed</c>.</param>
/// <param name="Reason">ERR_reason_error_string's text alone, e.g. <c>certificate verify failed</c>; empty when OpenSSL has none.</param>
internal readonly record struct OpenSslError(ulong Code, string Text, string Reason)
{
    // <openssl/err.h>: ERR_SYSTEM_FLAG, ERR_LIB_OFFSET, ERR_LIB_MASK, ERR_REASON_MASK.
    private const ulong ERR_SYSTEM_FLAG = 0x80000000UL;
    private const int ERR_LIB_OFFSET = 23;
    private const ulong ERR_LIB_MASK = 0xFF;
    private const ulong ERR_REASON_MASK = 0x7FFFFF;
    private const int ERR_LIB_SYS = 2;

    /// <summary>ERR_GET_LIB: the library that raised the error (<c>ERR_LIB_SSL</c> = 20).</summary>
    public int Library => (Code & ERR_SYSTEM_FLAG) != 0 ? ERR_LIB_SYS : (int)((Code >> ERR_LIB_OFFSET) & ERR_LIB_MASK);

    /// <summary>ERR_GET_REASON: the library's reason code (<c>SSL_R_*</c>), or errno for a system error.</summary>
    public int ReasonCode => (int)((Code & ERR_SYSTEM_FLAG) != 0 ? Code & (ERR_SYSTEM_FLAG - 1) : Code & ERR_REASON_MASK);
}

/// <summary>
/// A failed OpenSSL call and everything the OpenSSL error queue said about it, drained in order
/// (oldest first), as dotnet/runtime's Interop.Crypto.CreateOpenSslCryptographicException does.
/// </summary>
internal sealed class OpenSslException : CryptographicException
{
    internal OpenSslException(string operation, IReadOnlyList<OpenSslError> errors)
        : base(FormatMessage(operation, errors))
    {
        Operation = operation;
        Errors = errors;
    }

    /// <summary>The OpenSSL function that failed, e.g. <c>SSL_CTX_use_PrivateKey_file</c>.</summary>
    internal string Operation { get; }

    /// <summary>The drained error queue, oldest first; may be empty (e.g. an unexpected EOF on OpenSSL 3.0).</summary>
    internal IReadOnlyList<OpenSslError> Errors { get; }

    /// <summary>SSL_get_error's verdict when the failed call was an SSL I/O call (SSL_ERROR_SSL = 1, SSL_ERROR_SYSCALL = 5), else 0.</summary>
    internal int SslError { get; init; }

    /// <summary>The reason strings alone, joined with "; " (e.g. <c>no such file; system lib</c>), or null when the queue was empty.</summary>
    internal string? Reasons => Errors.Count == 0
        ? null
        : string.Join("; ", Errors.Select(e => e.Reason.Length > 0 ? e.Reason : LastField(e.Text)).Distinct());

    /// <summary>True when any queued error is from <paramref name="library"/> with <paramref name="reasonCode"/>.</summary>
    internal bool Contains(int library, int reasonCode)
    {
        foreach (OpenSslError error in Errors)
        {
            if (error.Library == library && error.ReasonCode == reasonCode)
            {
                return true;
            }
        }

        return false;
    }

    // A system error has no reason string; its text ends with strerror's: "error:80000002:system library::No such file or directory".
    private static string LastField(string text) => text[(text.LastIndexOf(':') + 1)..];

    private static string FormatMessage(string operation, IReadOnlyList<OpenSslError> errors) =>
        errors.Count == 0
            ? $"OpenSSL {operation} failed with no error queued"
            : $"OpenSSL {operation} failed: {string.Join("; ", errors.Select(e => e.Text))}";
}
