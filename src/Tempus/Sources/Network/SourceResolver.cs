using System.Net;
using System.Net.Sockets;

namespace Tempus.Sources.Network;

/// <summary>The addresses a name resolved to, or why it did not.</summary>
/// <param name="Addresses">Distinct addresses in the resolver's order (RFC 6724 from getaddrinfo); empty on failure.</param>
/// <param name="Error">A sentence naming the host and the cause, or null on success.</param>
internal readonly record struct ResolveResult(IPAddress[] Addresses, string? Error);

/// <summary>
/// Name resolution for sources, and when to try again after a failure.
/// </summary>
/// <remarks>
/// Retry rule (after chrony, which retries unresolved names with a growing interval and never gives up): the first
/// <see cref="FastRetries"/> retries wait <c>initial × 2^(n−1)</c>, capped at the source's minpoll interval (but at
/// least <c>initial</c>); after that the name is tried again every maxpoll interval, at least every 64 s and at most
/// every hour, so a name that never resolves costs one lookup per poll interval at worst.
/// </remarks>
internal static class SourceResolver
{
    /// <summary>Retries that follow the fast, doubling schedule.</summary>
    public const int FastRetries = 8;

    /// <summary>The longest one lookup may take before it counts as a failure.</summary>
    public static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Resolves <paramref name="host"/>; an address literal (IPv6 with or without brackets) resolves to itself.</summary>
    public static async Task<ResolveResult> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? literal))
        {
            return new ResolveResult([literal], null);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(LookupTimeout);
        try
        {
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, timeout.Token).ConfigureAwait(false);
            addresses = addresses.Where(a => a.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6).Distinct().ToArray();
            return addresses.Length == 0
                ? new ResolveResult([], $"cannot resolve '{host}': the name has no IPv4 or IPv6 address")
                : new ResolveResult(addresses, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ResolveResult([], $"cannot resolve '{host}': DNS lookup timed out after {LookupTimeout.TotalSeconds:0} s (is a name server reachable?)");
        }
        catch (SocketException e)
        {
            return new ResolveResult([], $"cannot resolve '{host}': {e.Message} (check the name, and the resolver in /etc/resolv.conf)");
        }
        catch (ArgumentException e)
        {
            return new ResolveResult([], $"cannot resolve '{host}': not a valid host name ({e.Message})");
        }
    }

    /// <summary>The wait before the next lookup after <paramref name="failures"/> consecutive failures (see the remarks).</summary>
    public static TimeSpan RetryDelay(int failures, TimeSpan initial, int minPoll, int maxPoll)
    {
        if (failures <= 0)
        {
            return TimeSpan.Zero;
        }

        if (failures <= FastRetries)
        {
            TimeSpan cap = Max(PollInterval(minPoll), initial);
            double seconds = initial.TotalSeconds * Math.Pow(2, failures - 1);
            return seconds >= cap.TotalSeconds ? cap : TimeSpan.FromSeconds(seconds);
        }

        TimeSpan slow = PollInterval(maxPoll);
        return slow < TimeSpan.FromSeconds(64) ? TimeSpan.FromSeconds(64) : slow > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : slow;
    }

    /// <summary>2^<paramref name="poll"/> seconds.</summary>
    public static TimeSpan PollInterval(int poll) => TimeSpan.FromSeconds(Math.Pow(2, Math.Clamp(poll, SourceDefinition.LowestPoll, SourceDefinition.HighestPoll)));

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
