using System.Text;

namespace Tempus.Protocol;

/// <summary>
/// Serializes whole NTS-KE messages (RFC 8915 §4): a client's request and a server's response, each ending in
/// End of Message. What it writes, <see cref="NtsKeRequestParser"/> and <see cref="NtsKeResponseParser"/> accept;
/// a message they would reject is refused with an <see cref="ArgumentException"/>.
/// </summary>
public static class NtsKeMessageWriter
{
    /// <summary>The length of <paramref name="request"/> on the wire.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The number of bytes <see cref="TryWriteRequest"/> writes.</returns>
    /// <exception cref="ArgumentException">The request breaks an RFC 8915 §4.1 rule or a limit in <see cref="NtsKeLimits"/>.</exception>
    public static int GetRequestLength(NtsKeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.NextProtocols.Count == 0)
        {
            ThrowHelper.ThrowArgument(nameof(request), "an NTS-KE request must offer at least one next protocol (RFC 8915 §4.1.2)");
        }

        bool ntpv4 = request.NextProtocols.Contains(NtsNextProtocol.Ntpv4);
        if (ntpv4 && request.AeadAlgorithms.Count == 0)
        {
            ThrowHelper.ThrowArgument(nameof(request), "an NTS-KE request for NTPv4 must offer at least one AEAD algorithm (RFC 8915 §4.1.5)");
        }

        int length = ListRecordLength(request.NextProtocols.Count, nameof(request));
        if (ntpv4 || request.AeadAlgorithms.Count > 0)
        {
            length += ListRecordLength(request.AeadAlgorithms.Count, nameof(request));
        }

        length += OptionalRecordsLength(request.CompliantAes128GcmSivExporter, request.Server, request.Port, nameof(request));
        return length + NtsKeRecord.HeaderSize;
    }

    /// <summary>
    /// Writes a client request: Next Protocol Negotiation and AEAD Algorithm Negotiation (both critical), then the
    /// optional compliant AES-128-GCM-SIV exporter, server and port records (not critical, RFC 8915 §4.1.7, §4.1.8),
    /// then End of Message.
    /// </summary>
    /// <param name="destination">Where to write the message.</param>
    /// <param name="request">The request.</param>
    /// <param name="written">The message length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentException">The request breaks an RFC 8915 §4.1 rule or a limit in <see cref="NtsKeLimits"/>.</exception>
    public static bool TryWriteRequest(Span<byte> destination, NtsKeRequest request, out int written)
    {
        int length = GetRequestLength(request);
        written = 0;
        if (destination.Length < length)
        {
            return false;
        }

        int position = WriteList(destination, NtsKeRecordType.NextProtocolNegotiation, request.NextProtocols, static p => (ushort)p);
        if (request.NextProtocols.Contains(NtsNextProtocol.Ntpv4) || request.AeadAlgorithms.Count > 0)
        {
            position += WriteList(destination.Slice(position), NtsKeRecordType.AeadAlgorithmNegotiation, request.AeadAlgorithms, static a => (ushort)a);
        }

        position += WriteOptionalRecords(destination.Slice(position), request.CompliantAes128GcmSivExporter, request.Server, request.Port);
        position += WriteEndOfMessage(destination.Slice(position));
        written = position;
        return true;
    }

    /// <summary>The length of <paramref name="response"/> on the wire.</summary>
    /// <param name="response">The response.</param>
    /// <returns>The number of bytes <see cref="TryWriteResponse"/> writes.</returns>
    /// <exception cref="ArgumentException">The response breaks an RFC 8915 §4.1 rule or a limit in <see cref="NtsKeLimits"/>.</exception>
    public static int GetResponseLength(NtsKeResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.IsError)
        {
            return NtsKeRecordWriter.GetLength(2) + NtsKeRecord.HeaderSize;
        }

        bool ntpv4 = response.NextProtocols.Contains(NtsNextProtocol.Ntpv4);
        if (ntpv4 && response.AeadAlgorithm.HasValue && response.Cookies.Count == 0)
        {
            ThrowHelper.ThrowArgument(nameof(response), "an NTS-KE response that grants NTPv4 and an AEAD algorithm must carry at least one cookie (RFC 8915 §4.1.6)");
        }

        if (response.Cookies.Count > NtsKeLimits.MaxCookies)
        {
            ThrowHelper.ThrowArgument(nameof(response), $"an NTS-KE response carries at most {NtsKeLimits.MaxCookies} cookies; clients ignore any more");
        }

        int length = ListRecordLength(response.NextProtocols.Count, nameof(response));
        if (ntpv4 || response.AeadAlgorithm.HasValue)
        {
            length += NtsKeRecordWriter.GetLength(response.AeadAlgorithm.HasValue ? 2 : 0);
        }

        if (response.WarningCode.HasValue)
        {
            length += NtsKeRecordWriter.GetLength(2);
        }

        length += OptionalRecordsLength(response.CompliantAes128GcmSivExporter, response.Server, response.Port, nameof(response));
        foreach (byte[] cookie in response.Cookies)
        {
            if (cookie is null || cookie.Length is 0 or > NtsKeLimits.MaxRecordBodyLength)
            {
                ThrowHelper.ThrowArgument(nameof(response), $"every cookie must be 1 to {NtsKeLimits.MaxRecordBodyLength} bytes long");
            }

            length += NtsKeRecordWriter.GetLength(cookie.Length);
        }

        return length + NtsKeRecord.HeaderSize;
    }

    /// <summary>
    /// Writes a server response. An error response (<see cref="NtsKeResponse.IsError"/>) is the Error record and
    /// End of Message only: RFC 8915 §4.1.3 has the client discard everything else. Otherwise: Next Protocol
    /// Negotiation and AEAD Algorithm Negotiation (critical; the AEAD record is empty when no algorithm was chosen),
    /// the compliant AES-128-GCM-SIV exporter echo, Warning, server and port, the cookies (not critical,
    /// RFC 8915 §4.1.6), then End of Message.
    /// </summary>
    /// <param name="destination">Where to write the message.</param>
    /// <param name="response">The response.</param>
    /// <param name="written">The message length on success, 0 otherwise.</param>
    /// <returns><see langword="false"/> if <paramref name="destination"/> is too small.</returns>
    /// <exception cref="ArgumentException">The response breaks an RFC 8915 §4.1 rule or a limit in <see cref="NtsKeLimits"/>.</exception>
    public static bool TryWriteResponse(Span<byte> destination, NtsKeResponse response, out int written)
    {
        int length = GetResponseLength(response);
        written = 0;
        if (destination.Length < length)
        {
            return false;
        }

        int position;
        int n;
        if (response.ErrorCode is NtsKeErrorCode error)
        {
            NtsKeRecordWriter.TryWriteUInt16(destination, NtsKeRecordType.Error, critical: true, (ushort)error, out position);
            written = position + WriteEndOfMessage(destination.Slice(position));
            return true;
        }

        position = WriteList(destination, NtsKeRecordType.NextProtocolNegotiation, response.NextProtocols, static p => (ushort)p);
        if (response.AeadAlgorithm is NtsAeadAlgorithm algorithm)
        {
            NtsKeRecordWriter.TryWriteUInt16(destination.Slice(position), NtsKeRecordType.AeadAlgorithmNegotiation, critical: true, (ushort)algorithm, out n);
            position += n;
        }
        else if (response.NextProtocols.Contains(NtsNextProtocol.Ntpv4))
        {
            // RFC 8915 §4.1.5: an empty AEAD record says the server supports none of the algorithms offered.
            NtsKeRecordWriter.TryWriteHeader(destination.Slice(position), NtsKeRecordType.AeadAlgorithmNegotiation, critical: true, 0, out n);
            position += n;
        }

        if (response.WarningCode is ushort warning)
        {
            NtsKeRecordWriter.TryWriteUInt16(destination.Slice(position), NtsKeRecordType.Warning, critical: true, warning, out n);
            position += n;
        }

        position += WriteOptionalRecords(destination.Slice(position), response.CompliantAes128GcmSivExporter, response.Server, response.Port);
        foreach (byte[] cookie in response.Cookies)
        {
            NtsKeRecordWriter.TryWrite(destination.Slice(position), NtsKeRecordType.NewCookieForNtpv4, critical: false, cookie, out n);
            position += n;
        }

        written = position + WriteEndOfMessage(destination.Slice(position));
        return true;
    }

    private static int ListRecordLength(int count, string paramName)
    {
        if (count * 2 > NtsKeLimits.MaxRecordBodyLength)
        {
            ThrowHelper.ThrowArgument(paramName, $"a list of {count} ids is longer than the {NtsKeLimits.MaxRecordBodyLength}-byte record body limit");
        }

        return NtsKeRecordWriter.GetLength(count * 2);
    }

    private static int OptionalRecordsLength(bool compliantExporter, string? server, ushort? port, string paramName)
    {
        int length = compliantExporter ? NtsKeRecord.HeaderSize : 0;
        if (server is not null)
        {
            string? problem = NtsKeServerName.Validate(server);
            if (problem is not null)
            {
                ThrowHelper.ThrowArgument(paramName, $"the NTPv4 server \"{server}\" cannot be sent: {problem} (RFC 8915 §4.1.7)");
            }

            length += NtsKeRecordWriter.GetLength(server.Length);
        }

        return port.HasValue ? length + NtsKeRecordWriter.GetLength(2) : length;
    }

    // The callers have checked the length, so none of these writes can fail.
    private static int WriteList<T>(Span<byte> destination, NtsKeRecordType type, IReadOnlyList<T> values, Func<T, ushort> toId)
    {
        NtsKeRecordWriter.TryWriteHeader(destination, type, critical: true, values.Count * 2, out int written);
        for (int i = 0; i < values.Count; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(destination.Slice(NtsKeRecord.HeaderSize + (2 * i)), toId(values[i]));
        }

        return written;
    }

    // RFC 8915 §4.1.7, §4.1.8: clients SHOULD NOT set the critical bit on server and port records and servers MAY;
    // every NTS-KE client understands them, so neither side sets it.
    private static int WriteOptionalRecords(Span<byte> destination, bool compliantExporter, string? server, ushort? port)
    {
        int position = 0;
        int n;
        if (compliantExporter)
        {
            NtsKeRecordWriter.TryWriteHeader(destination, NtsKeRecordType.CompliantAes128GcmSivExporter, critical: false, 0, out n);
            position += n;
        }

        if (server is not null)
        {
            NtsKeRecordWriter.TryWriteHeader(destination.Slice(position), NtsKeRecordType.NtpServerNegotiation, critical: false, server.Length, out n);
            Encoding.ASCII.GetBytes(server, destination.Slice(position + NtsKeRecord.HeaderSize));
            position += n;
        }

        if (port is ushort value)
        {
            NtsKeRecordWriter.TryWriteUInt16(destination.Slice(position), NtsKeRecordType.NtpPortNegotiation, critical: false, value, out n);
            position += n;
        }

        return position;
    }

    private static int WriteEndOfMessage(Span<byte> destination)
    {
        NtsKeRecordWriter.TryWriteHeader(destination, NtsKeRecordType.EndOfMessage, critical: true, 0, out int written);
        return written;
    }
}
