using Tempus.Control;

namespace Tempus.Daemon.Metrics;

/// <summary>What one scrape of <c>/metrics</c> exports: the same reports <c>tempusctl</c> shows.</summary>
/// <param name="Tracking">The <c>tracking</c> report; null when the daemon has none (server only).</param>
/// <param name="Sources">One report per source, as <c>sources</c>/<c>sourcestats</c>/<c>authdata</c> show them.</param>
/// <param name="Server">The <c>serverstats</c> report; null when no NTP server runs.</param>
internal sealed record MetricsSnapshot(TrackingReport? Tracking, IReadOnlyList<SourceReport> Sources, ServerStatsReport? Server);
