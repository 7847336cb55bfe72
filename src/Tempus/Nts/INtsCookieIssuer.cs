using Tempus.Protocol;

namespace Tempus.Nts;

/// <summary>
/// Makes NTS cookies (RFC 8915 §6): the NTS-KE server asks it for the cookies it hands out, the NTS NTP
/// server for the fresh cookies it returns in each response. A cookie carries the AEAD id and both keys,
/// sealed under the server's current master key, so any server holding that key can serve the client.
/// </summary>
public interface INtsCookieIssuer
{
    /// <summary>The longest cookie <see cref="IssueCookie"/> can return, for buffer sizing.</summary>
    int MaxCookieLength { get; }

    /// <summary>Seals the client's keys into a new cookie, written to <paramref name="destination"/>.</summary>
    /// <returns>The cookie length.</returns>
    int IssueCookie(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> c2sKey, ReadOnlySpan<byte> s2cKey, Span<byte> destination);
}
