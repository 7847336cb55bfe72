using System.Security.Cryptography;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>
/// NTS-protected NTP for one source (RFC 8915 §5.7): each request spends one cookie of the <see cref="Session"/>,
/// carries a fresh Unique Identifier and placeholders for enough new cookies that the session holds eight again, and
/// is authenticated under the C2S key; a response counts only with our Unique Identifier and an authenticator that
/// verifies under the S2C key, and only the encrypted cookies in it are kept. An NTS NAK drops the session: the
/// driver then runs NTS-KE (<see cref="NeedsKeyExchange"/>) and hands the new session to <see cref="SetSession"/>.
/// </summary>
/// <remarks>
/// The same work as <see cref="NtsNtpRequest"/>, but on buffers and AEAD contexts kept for the life of the session, so
/// a poll allocates only the arrays of the cookies it receives (and reuses spent cookie arrays of the same length).
/// Not thread-safe: the source's driver serializes calls.
/// </remarks>
public sealed class NtsAuthenticator : IRequestAuthenticator, IDisposable
{
    /// <summary>How many unused cookies the client aims to hold (RFC 8915 §5.7).</summary>
    public const int TargetCookieCount = NtsNtpRequest.TargetCookieCount;

    private readonly byte[] _uniqueIdentifier = new byte[NtsNtpRequest.UniqueIdentifierLength];
    private readonly Stack<byte[]> _spentCookies = new();
    private readonly TimeSpan _refreshInterval;
    private byte[] _plaintext = new byte[1024];
    private NtsAead? _c2s;
    private NtsAead? _s2c;
    private bool _outstanding;

    /// <summary>Creates an authenticator with no session yet: <see cref="NeedsKeyExchange"/> is true.</summary>
    /// <param name="refreshInterval">Age after which <see cref="IsRefreshDue"/> asks for a new key exchange (<c>ntsrefresh</c>); zero never.</param>
    public NtsAuthenticator(TimeSpan refreshInterval = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(refreshInterval, TimeSpan.Zero);
        _refreshInterval = refreshInterval;
    }

    /// <summary>
    /// Raised whenever the session or its cookies change: a new session, cookies spent by a request or received in a
    /// response, or the session dropped after an NTS NAK (<see cref="Session"/> is then null). The driver saves the
    /// session with <see cref="NtsSessionStore.Save"/>, or deletes the saved one when it is null.
    /// </summary>
    public event Action<NtsAuthenticator>? SessionChanged;

    /// <inheritdoc/>
    public SourceAuthentication Kind => SourceAuthentication.Nts;

    /// <summary>The session in use, or null before the first key exchange and after an NTS NAK.</summary>
    public NtsSession? Session { get; private set; }

    /// <inheritdoc/>
    public bool CanSend => Session is { Cookies.Count: > 0 } && _c2s is not null;

    /// <summary>Whether the driver must run NTS-KE before the next request: no session, or no cookie left.</summary>
    public bool NeedsKeyExchange => !CanSend;

    /// <summary>NTS NAKs received since the last <see cref="SetSession"/>.</summary>
    public int NaksReceived { get; private set; }

    /// <summary>When the session's key exchange happened, Unix nanoseconds; 0 without a session.</summary>
    public long SessionEstablishedUnixNs => Session?.EstablishedUnixNanoseconds ?? 0;

    /// <summary>Unused cookies held.</summary>
    public int CookieCount => Session?.Cookies.Count ?? 0;

    /// <summary>The length of the cookies held (of the oldest), bytes; 0 when none.</summary>
    public int CookieLength => Session is { Cookies.Count: > 0 } s ? s.Cookies.Peek().Length : 0;

    /// <summary>Failed key exchanges since the last successful one (chronyc authdata's Atmp), as recorded by the driver.</summary>
    public int KeyExchangeAttempts { get; private set; }

    /// <summary>The last key exchange error or NAK, for <c>authdata</c> and the audit; empty when none.</summary>
    public string LastError { get; private set; } = "";

    /// <summary>Installs the session of a successful key exchange (or one loaded from the store), replacing any other.</summary>
    /// <param name="session">The session; its cookies are used from now on.</param>
    /// <exception cref="NotSupportedException">The session's AEAD algorithm is not supported here.</exception>
    public void SetSession(NtsSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        NtsAead c2s = NtsAead.Create(session.Algorithm, session.C2SKey);
        NtsAead s2c;
        try
        {
            s2c = NtsAead.Create(session.Algorithm, session.S2CKey);
        }
        catch
        {
            c2s.Dispose();
            throw;
        }

        DisposeAeads();
        _c2s = c2s;
        _s2c = s2c;
        Session = session;
        _outstanding = false;
        NaksReceived = 0;
        KeyExchangeAttempts = 0;
        LastError = "";
        SessionChanged?.Invoke(this);
    }

    /// <summary>Records a failed key exchange, for <see cref="KeyExchangeAttempts"/> and <see cref="LastError"/>.</summary>
    /// <param name="error">What went wrong, as the NTS-KE client said it.</param>
    public void RecordKeyExchangeFailure(string error)
    {
        KeyExchangeAttempts++;
        LastError = error;
    }

    /// <summary>Whether the session is older than the refresh interval given at construction (<c>ntsrefresh</c>).</summary>
    /// <param name="unixNowNs">Now, Unix nanoseconds.</param>
    /// <returns>True when a new key exchange is due although cookies remain.</returns>
    public bool IsRefreshDue(long unixNowNs) =>
        Session is not null && _refreshInterval > TimeSpan.Zero && unixNowNs - Session.EstablishedUnixNanoseconds > (long)_refreshInterval.TotalNanoseconds;

    /// <inheritdoc/>
    public int WriteRequest(Span<byte> destination, in NtpPacketHeader header)
    {
        NtsSession session = Session is not null && CanSend
            ? Session
            : throw new InvalidOperationException("no NTS cookie left: run NTS-KE first");
        NtsAead aead = _c2s!;
        byte[] cookie = session.Cookies.Peek();
        int authenticatorLength = NtsPacketWriter.GetAuthenticatorLength(aead.NonceLength, NtsAead.TagSize, aead.MaxNonceLength);
        int limit = Math.Min(destination.Length, NtsNtpRequest.MaxRequestLength);

        // RFC 8915 §5.7: with N placeholders the server returns N + 1 cookies; aim to hold eight afterwards, with fewer
        // placeholders when the request would exceed 1280 bytes.
        int placeholders = Math.Clamp(TargetCookieCount - session.Cookies.Count, 0, NtsNtpRequest.MaxPlaceholders);
        while (placeholders > 0 && RequestLength(cookie.Length, placeholders, authenticatorLength) > limit)
        {
            placeholders--;
        }

        int total = RequestLength(cookie.Length, placeholders, authenticatorLength);
        if (total > destination.Length)
        {
            throw new ArgumentException($"an NTS request needs {total} bytes, the buffer has {destination.Length}", nameof(destination));
        }

        session.Cookies.Dequeue();
        RandomNumberGenerator.Fill(_uniqueIdentifier);
        header.TryWrite(destination, out int length);
        NtsPacketWriter.TryWriteRequestFields(destination[length..], _uniqueIdentifier, cookie, placeholders, out int written);
        length += written;
        NtsPacketWriter.TryWriteAuthenticatorHeader(destination[length..], aead.NonceLength, NtsAead.TagSize, aead.MaxNonceLength, out int nonceOffset, out int ciphertextOffset, out written);
        Span<byte> nonce = destination.Slice(length + nonceOffset, aead.NonceLength);
        RandomNumberGenerator.Fill(nonce);

        // RFC 8915 §5.6: the associated data is the packet up to the authenticator; the plaintext is empty.
        aead.Seal(nonce, destination[..length], default, destination.Slice(length + ciphertextOffset, NtsAead.TagSize));
        length += written;

        // The spent cookie's array is recycled for a received cookie of the same length; it is never sent again.
        if (_spentCookies.Count < TargetCookieCount)
        {
            _spentCookies.Push(cookie);
        }

        _outstanding = true;
        SessionChanged?.Invoke(this);
        return length;
    }

    /// <inheritdoc/>
    public bool Verify(ReadOnlySpan<byte> response, out NtpPacketHeader header, out string? failure)
    {
        header = default;
        if (NtpPacketLayout.TryParse(response, out NtpPacketLayout layout) != NtpParseStatus.Ok)
        {
            failure = "malformed NTP packet";
            return false;
        }

        NtsParseStatus status = NtsPacketReader.TryRead(layout, out NtsPacketInfo info);
        if (status == NtsParseStatus.NoNtsFields)
        {
            // RFC 8915 §5.7: unprotected responses to NTS requests are discarded, kiss-o'-death included, since only
            // the Unique Identifier ties one to our request.
            failure = "response without NTS fields (unauthenticated)";
            return false;
        }

        if (status != NtsParseStatus.Ok)
        {
            failure = "malformed NTS extension fields";
            return false;
        }

        if (!_outstanding || Session is null || !CryptographicOperations.FixedTimeEquals(info.UniqueIdentifier, _uniqueIdentifier))
        {
            failure = "NTS Unique Identifier does not match the outstanding request";
            return false;
        }

        if (!info.HasAuthenticator)
        {
            if (!layout.Header.IsKissOfDeath)
            {
                failure = "response without an NTS authenticator";
                return false;
            }

            // RFC 8915 §5.7: a kiss-o'-death with our Unique Identifier is obeyed; an NTS NAK means the server cannot
            // use our cookies, so the session is dropped and NTS-KE runs again.
            header = layout.Header;
            _outstanding = false;
            if (header.ReferenceId == KissCode.Ntsn)
            {
                NaksReceived++;
                LastError = "NTS NAK: the server could not use our cookie (its keys rotated, or NTS-KE named another server)";
                DropSession();
            }

            failure = null;
            return true;
        }

        int plaintextLength = info.Ciphertext.Length - NtsAead.TagSize;
        if (plaintextLength > _plaintext.Length)
        {
            _plaintext = new byte[Math.Max(plaintextLength, _plaintext.Length * 2)];
        }

        Span<byte> plaintext = _plaintext.AsSpan(0, plaintextLength);
        if (!_s2c!.TryOpen(info.Nonce, info.AssociatedData, info.Ciphertext, plaintext))
        {
            failure = "the NTS authenticator does not verify with our S2C key";
            return false;
        }

        header = layout.Header;
        _outstanding = false;

        // RFC 8915 §5.7: cookies count only when encrypted; one before the authenticator or any field after it is not.
        var reader = new NtsPlaintextReader(plaintext);
        while (reader.TryReadNext(out ExtensionField field, out _))
        {
            if (field.Type == ExtensionFieldType.NtsCookie && field.Value.Length is > 0 and <= NtsKeLimits.MaxRecordBodyLength
                && Session.Cookies.Count < TargetCookieCount)
            {
                byte[] cookie = _spentCookies.TryPeek(out byte[]? spare) && spare.Length == field.Value.Length
                    ? _spentCookies.Pop()
                    : new byte[field.Value.Length];
                field.Value.CopyTo(cookie);
                Session.Cookies.Enqueue(cookie);
            }
        }

        SessionChanged?.Invoke(this);
        failure = null;
        return true;
    }

    /// <summary>Forgets the session and wipes the AEAD contexts.</summary>
    public void Dispose()
    {
        DisposeAeads();
        Session = null;
    }

    private static int RequestLength(int cookieLength, int placeholders, int authenticatorLength) =>
        NtpPacketHeader.Size + NtsPacketWriter.GetRequestFieldsLength(NtsNtpRequest.UniqueIdentifierLength, cookieLength, placeholders) + authenticatorLength;

    private void DropSession()
    {
        DisposeAeads();
        Session = null;
        _spentCookies.Clear();
        SessionChanged?.Invoke(this);
    }

    private void DisposeAeads()
    {
        _c2s?.Dispose();
        _s2c?.Dispose();
        _c2s = null;
        _s2c = null;
    }
}
