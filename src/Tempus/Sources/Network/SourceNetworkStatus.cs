namespace Tempus.Sources.Network;

/// <summary>
/// What the network driver knows about one source beyond what <see cref="NtpSource.Report"/> shows: name resolution,
/// the socket, and the NTS-KE side (for <c>authdata</c>, <c>activity</c> and the audit).
/// </summary>
public sealed record SourceNetworkStatus
{
    /// <summary>The source's name.</summary>
    public required string Name { get; init; }

    /// <summary>The pool the source belongs to, or null for a <c>server</c> line.</summary>
    public string? Pool { get; init; }

    /// <summary>Whether the source is polled (not <c>offline</c>).</summary>
    public bool Online { get; init; }

    /// <summary>Whether the server's NTP address is known (false while the name, or the NTS-KE server, has not answered).</summary>
    public bool Resolved { get; init; }

    /// <summary>Consecutive failed lookups of the name (or of the NTS-KE Server record's name).</summary>
    public int ResolveFailures { get; init; }

    /// <summary>The local address and port the requests leave from ("" before the socket is open).</summary>
    public string LocalAddress { get; init; } = "";

    /// <summary>Whether the socket gets kernel receive timestamps (SO_TIMESTAMPNS).</summary>
    public bool KernelTimestamps { get; init; }

    /// <summary>The last network-side error (DNS, socket, ICMP, NTS-KE, session store), "" when the last attempt succeeded.</summary>
    public string LastError { get; init; } = "";

    /// <summary>Whether the source uses NTS.</summary>
    public bool Nts { get; init; }

    /// <summary>Where NTS-KE connects, as <c>host:port</c> ("" for non-NTS sources).</summary>
    public string NtsKeServer { get; init; } = "";

    /// <summary>Successful NTS-KE exchanges since the source was created.</summary>
    public int NtsKeyExchanges { get; init; }

    /// <summary>Failed NTS-KE exchanges since the last success that used its keys (RFC 8915 §4.2 backoff count).</summary>
    public int NtsKeFailures { get; init; }

    /// <summary>When the next NTS-KE attempt is allowed by the backoff, or null when no failure is pending.</summary>
    public DateTimeOffset? NtsNextAttempt { get; init; }

    /// <summary>When the current NTS session was established (Unix ns, local clock); 0 = none.</summary>
    public long NtsSessionEstablishedUnixNs { get; init; }

    /// <summary>Whether the current NTS session was loaded from <c>ntsdumpdir</c> rather than made by NTS-KE in this process.</summary>
    public bool NtsSessionFromStore { get; init; }

    /// <summary>Whether the current NTS session's certificate was accepted without its time check (<c>nocerttimecheck</c>).</summary>
    public bool NtsCertificateTimeCheckSkipped { get; init; }

    /// <summary>
    /// Why a symmetric-key source sends nothing: its key id is gone from the reloaded key file, or no longer trusted
    /// (naming the id and the file); "" when it has its key.
    /// </summary>
    public string SymmetricKeyProblem { get; init; } = "";
}

/// <summary>A <c>server</c>/<c>pool</c> line that has no running source, and why.</summary>
/// <param name="Definition">The line.</param>
/// <param name="Message">What is wrong and what to do, naming the file and line.</param>
/// <param name="Permanent">True when only a configuration change helps (a missing key); false for a pool still being resolved.</param>
public sealed record SourceProblem(SourceDefinition Definition, string Message, bool Permanent);
