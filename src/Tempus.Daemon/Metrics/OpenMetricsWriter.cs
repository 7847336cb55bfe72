using System.Globalization;
using System.Text;
using Tempus.Control;
using Tempus.Selection;

namespace Tempus.Daemon.Metrics;

/// <summary>
/// Renders a <see cref="MetricsSnapshot"/> in the OpenMetrics 1.0 text format (what Prometheus scrapes): one
/// <c># TYPE</c> and <c># HELP</c> line per family, counters named without <c>_total</c> in the family and with it
/// on the sample, label values escaped, numbers in invariant culture, and <c># EOF</c> last.
/// </summary>
internal static class OpenMetricsWriter
{
    /// <summary>The content type of the output.</summary>
    public const string ContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>Renders the snapshot.</summary>
    public static string Write(MetricsSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var output = new StringBuilder(4096);
        if (snapshot.Tracking is { } t)
        {
            Gauge(output, "tempus_tracking_synchronized", "1 when a system peer is selected and the clock has been updated from it.", t.IsSynchronized ? 1 : 0);
            Gauge(output, "tempus_tracking_stratum", "Stratum served (16 = unsynchronized).", t.Stratum);
            Family(output, "tempus_tracking_reference", "info", "The system peer (reference id in hex, name).");
            Sample(output, "tempus_tracking_reference_info", 1, ("reference_id", t.ReferenceId.ToString("X8", CultureInfo.InvariantCulture)), ("name", t.ReferenceName));
            Gauge(output, "tempus_tracking_offset_seconds", "Offset of the system clock from NTP time now, still being slewed out (reference - local; chronyc's System time).", t.SystemTimeOffset);
            Gauge(output, "tempus_tracking_last_offset_seconds", "Offset measured at the last clock update (reference - local).", t.LastOffset);
            Gauge(output, "tempus_tracking_rms_offset_seconds", "Long-term average of the offsets.", t.RmsOffset);
            Gauge(output, "tempus_tracking_frequency_ppm", "Frequency correction applied to the clock (positive = made faster).", t.FrequencyPpm);
            Gauge(output, "tempus_tracking_residual_frequency_ppm", "Residual frequency of the system peer not yet corrected.", t.ResidualFrequencyPpm);
            Gauge(output, "tempus_tracking_skew_ppm", "Estimated error bound of the frequency.", t.SkewPpm);
            Gauge(output, "tempus_tracking_root_delay_seconds", "Root delay to the primary reference.", t.RootDelay);
            Gauge(output, "tempus_tracking_root_dispersion_seconds", "Root dispersion to the primary reference.", t.RootDispersion);
            Gauge(output, "tempus_tracking_update_interval_seconds", "Interval between the last two clock updates.", t.UpdateInterval);
            Gauge(output, "tempus_tracking_leap_status", "Leap indicator published (0 none, 1 insert, 2 delete, 3 unsynchronized).", (int)t.Leap);
            Gauge(output, "tempus_tracking_reference_timestamp_seconds", "When the clock was last updated, Unix seconds (0 = never).", t.ReferenceTimeUnixNs / 1e9);
            Counter(output, "tempus_tracking_updates", "Clock updates since start.", t.Updates);
        }

        if (snapshot.Sources.Count > 0)
        {
            IReadOnlyList<SourceReport> sources = snapshot.Sources;
            SourceFamily(output, sources, "tempus_source_reach", "gauge", "The 8-bit reachability register (255 = the last eight polls answered).", s => s.Reach);
            SourceFamily(output, sources, "tempus_source_stratum", "gauge", "Stratum of the source's last valid response (0 = none).", s => s.Stratum);
            SourceFamily(output, sources, "tempus_source_poll_log2_seconds", "gauge", "Current poll interval, log2 seconds.", s => s.Poll);
            SourceFamily(output, sources, "tempus_source_last_rx_seconds", "gauge", "Seconds since the last valid sample (-1 = none yet).", s => s.LastRxAgo);
            SourceFamily(output, sources, "tempus_source_offset_seconds", "gauge", "Last sample's offset adjusted for corrections since (reference - local).", s => s.AdjustedOffset);
            SourceFamily(output, sources, "tempus_source_measured_offset_seconds", "gauge", "Last sample's offset as measured (reference - local).", s => s.MeasuredOffset);
            SourceFamily(output, sources, "tempus_source_error_bound_seconds", "gauge", "Last sample's error bound.", s => s.ErrorBound);
            SourceFamily(output, sources, "tempus_source_delay_seconds", "gauge", "Last sample's round-trip delay.", s => s.PeerDelay);
            SourceFamily(output, sources, "tempus_source_frequency_ppm", "gauge", "Residual frequency of the source relative to the local clock.", s => s.FrequencyPpm);
            SourceFamily(output, sources, "tempus_source_skew_ppm", "gauge", "Error bound of the source's frequency.", s => s.SkewPpm);
            SourceFamily(output, sources, "tempus_source_std_dev_seconds", "gauge", "Standard deviation of the samples about the regression.", s => s.StandardDeviation);
            SourceFamily(output, sources, "tempus_source_root_distance_seconds", "gauge", "Root distance through this source.", s => s.RootDistance);
            SourceFamily(output, sources, "tempus_source_samples", "gauge", "Samples held by the regression.", s => s.SampleCount);

            Family(output, "tempus_source_state", "stateset", "Selection state of each source (chronyc's state letter, by name).");
            foreach (SourceReport s in sources)
            {
                foreach (SourceSelectionStatus status in Enum.GetValues<SourceSelectionStatus>())
                {
                    Sample(output, "tempus_source_state", s.Status == status ? 1 : 0, ("source", s.Name), ("address", s.Address), ("tempus_source_state", StateName(status)));
                }
            }

            Family(output, "tempus_source_authenticated", "gauge", "1 when the source's last response was authenticated; mode is how the source is configured (none, symmetric, nts).");
            foreach (SourceReport s in sources)
            {
                Sample(output, "tempus_source_authenticated", s.LastResponseAuthenticated ? 1 : 0, ("source", s.Name), ("address", s.Address), ("mode", ModeName(s.Authentication)));
            }

            SourceFamily(output, sources, "tempus_source_nts_cookies", "gauge", "NTS cookies held.", s => s.NtsCookies);
            SourceFamily(output, sources, "tempus_source_nts_ke_attempts", "gauge", "NTS-KE attempts since the last success.", s => s.NtsKeAttempts);
            SourceFamily(output, sources, "tempus_source_authentication_failures", "counter", "Responses that failed authentication (MAC or NTS authenticator).", s => s.AuthenticationFailures);
            SourceFamily(output, sources, "tempus_source_requests_sent", "counter", "Requests sent.", s => s.TotalTx);
            SourceFamily(output, sources, "tempus_source_responses_received", "counter", "Responses received.", s => s.TotalRx);
            SourceFamily(output, sources, "tempus_source_valid_responses", "counter", "Responses that passed the header and authentication checks.", s => s.TotalValidRx);
        }

        if (snapshot.Server is { } v)
        {
            Counter(output, "tempus_server_ntp_packets_received", "NTP packets received.", v.NtpPacketsReceived);
            Counter(output, "tempus_server_ntp_packets_dropped", "NTP packets dropped (invalid, denied, rate limited).", v.NtpPacketsDropped);
            Counter(output, "tempus_server_ntp_responses_sent", "NTP responses sent.", v.NtpResponsesSent);
            Counter(output, "tempus_server_authenticated_ntp_packets", "Authenticated NTP requests answered (symmetric key or NTS).", v.AuthenticatedNtpPackets);
            Counter(output, "tempus_server_rate_limit_kods", "KoD RATE responses sent (ratelimit kod).", v.RateLimitKods);
            Counter(output, "tempus_server_nts_naks", "NTS NAKs sent.", v.NtsNaks);
            Counter(output, "tempus_server_nts_ke_connections_accepted", "NTS-KE connections accepted.", v.NtsKeConnectionsAccepted);
            Counter(output, "tempus_server_nts_ke_connections_dropped", "NTS-KE connections dropped (ntsratelimit, connection cap).", v.NtsKeConnectionsDropped);
            Counter(output, "tempus_server_client_log_records_dropped", "Client table records replaced because the table was full (clientloglimit).", v.ClientLogRecordsDropped);
            Counter(output, "tempus_server_command_packets_received", "Control requests received.", v.CommandPacketsReceived);
            Counter(output, "tempus_server_command_packets_dropped", "Control requests dropped.", v.CommandPacketsDropped);
        }

        output.Append("# EOF\n");
        return output.ToString();
    }

    /// <summary>OpenMetrics label value escaping: backslash, double quote and line feed.</summary>
    public static string EscapeLabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().IndexOfAny('\\', '"', '\n') < 0)
        {
            return value;
        }

        return value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    /// <summary>An OpenMetrics number: invariant culture, shortest round-trip form, NaN and ±Inf spelled as the format wants.</summary>
    public static string FormatNumber(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static void SourceFamily(StringBuilder output, IReadOnlyList<SourceReport> sources, string family, string type, string help, Func<SourceReport, double> value)
    {
        Family(output, family, type, help);
        string sample = type == "counter" ? family + "_total" : family;
        foreach (SourceReport s in sources)
        {
            Sample(output, sample, value(s), ("source", s.Name), ("address", s.Address));
        }
    }

    private static void Gauge(StringBuilder output, string name, string help, double value)
    {
        Family(output, name, "gauge", help);
        Sample(output, name, value);
    }

    private static void Counter(StringBuilder output, string family, string help, double value)
    {
        Family(output, family, "counter", help);
        Sample(output, family + "_total", value);
    }

    private static void Family(StringBuilder output, string family, string type, string help)
    {
        // HELP text escapes backslash and line feed (OpenMetrics 1.0 §"Text format").
        output.Append("# TYPE ").Append(family).Append(' ').Append(type).Append('\n');
        output.Append("# HELP ").Append(family).Append(' ')
            .Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
    }

    private static void Sample(StringBuilder output, string name, double value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        output.Append(name);
        if (labels.Length > 0)
        {
            output.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                {
                    output.Append(',');
                }

                output.Append(labels[i].Name).Append("=\"").Append(EscapeLabelValue(labels[i].Value)).Append('"');
            }

            output.Append('}');
        }

        output.Append(' ').Append(FormatNumber(value)).Append('\n');
    }

    private static string ModeName(SourceAuthentication mode) => mode switch
    {
        SourceAuthentication.Nts => "nts",
        SourceAuthentication.SymmetricKey => "symmetric",
        _ => "none",
    };

    private static string StateName(SourceSelectionStatus status) => status switch
    {
        SourceSelectionStatus.Selected => "selected",
        SourceSelectionStatus.Combined => "combined",
        SourceSelectionStatus.Unreachable => "unreachable",
        SourceSelectionStatus.NoSelect => "noselect",
        SourceSelectionStatus.Unauthenticated => "unauthenticated",
        SourceSelectionStatus.NotSynchronized => "not_synchronized",
        SourceSelectionStatus.DistanceTooLarge => "distance_too_large",
        SourceSelectionStatus.Jittery => "jittery",
        SourceSelectionStatus.Loop => "loop",
        SourceSelectionStatus.Falseticker => "falseticker",
        SourceSelectionStatus.DisagreesWithTrusted => "disagrees_with_trusted",
        SourceSelectionStatus.WaitingForOthers => "waiting_for_others",
        SourceSelectionStatus.DistanceTooLargeToCombine => "distance_too_large_to_combine",
        SourceSelectionStatus.UnauthenticatedNotCombined => "unauthenticated_not_combined",
        _ => status.ToString().ToLowerInvariant(),
    };
}
