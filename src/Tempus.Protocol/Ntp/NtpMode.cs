namespace Tempus.Protocol;

/// <summary>The association mode in the low three bits of the first header byte (RFC 5905 §7.3, Figure 10).</summary>
public enum NtpMode : byte
{
    /// <summary>Reserved; in NTPv1 (RFC 1059), which had no mode field, these bits are zero.</summary>
    Reserved = 0,

    /// <summary>Symmetric active: a peer that wants to synchronize with, and be synchronized by, the remote.</summary>
    SymmetricActive = 1,

    /// <summary>Symmetric passive: the reply to a symmetric active peer with no configured association.</summary>
    SymmetricPassive = 2,

    /// <summary>Client request.</summary>
    Client = 3,

    /// <summary>Server response.</summary>
    Server = 4,

    /// <summary>Broadcast or multicast server.</summary>
    Broadcast = 5,

    /// <summary>NTP control message (ntpq, RFC 1305 Appendix B); not a time packet.</summary>
    Control = 6,

    /// <summary>Reserved for private use (ntpdc); not a time packet.</summary>
    Private = 7,
}
