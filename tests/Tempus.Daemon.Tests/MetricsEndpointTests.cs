using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Control;
using Tempus.Daemon.Metrics;
using Tempus.Protocol;
using Tempus.Selection;

namespace Tempus.Daemon.Tests;

/// <summary>The OpenMetrics endpoint on Kestrel, scraped over loopback HTTP, its output checked line by line.</summary>
public sealed partial class MetricsEndpointTests
{
    private static MetricsSnapshot Snapshot() => new(
        new TrackingReport
        {
            ReferenceId = 0xC0000201,
            ReferenceName = "time.example",
            Stratum = 3,
            ReferenceTimeUnixNs = 1_764_000_000_500_000_000,
            SystemTimeOffset = -0.000012,
            LastOffset = 0.0000031,
            FrequencyPpm = -12.5,
            Leap = LeapIndicator.NoWarning,
            Updates = 42,
        },
        [
            new SourceReport
            {
                Name = "nts.example",
                Address = "192.0.2.1",
                Reach = 255,
                AdjustedOffset = 0.00042,
                Status = SourceSelectionStatus.Selected,
                Authentication = SourceAuthentication.Nts,
                LastResponseAuthenticated = true,
                NtsCookies = 8,
                TotalTx = 100,
                TotalRx = 99,
            },
            new SourceReport
            {
                // A name no one should use, to prove label values are escaped.
                Name = "we\"ird\\name\nx",
                Address = "2001:db8::1",
                Reach = 0,
                Status = SourceSelectionStatus.Unreachable,
                LastRxAgo = double.NaN,
            },
        ],
        new ServerStatsReport { NtpPacketsReceived = 1000, NtpPacketsDropped = 7, NtpResponsesSent = 993, RateLimitKods = 2, NtsKeConnectionsAccepted = 5 });

    [Fact]
    public async Task ScrapeReturnsOpenMetricsWithTrackingSourcesAndServerCounters()
    {
        int scrapes = 0;
        await using MetricsServer server = await MetricsServer.StartAsync(
            new IPEndPoint(IPAddress.Loopback, 0),
            () =>
            {
                Interlocked.Increment(ref scrapes);
                return Snapshot();
            },
            NullLoggerFactory.Instance);
        Assert.NotEqual(0, server.LocalEndpoint.Port);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.LocalEndpoint.Port}") };
        using HttpResponseMessage response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal(1, scrapes);

        Dictionary<string, double> samples = Parse(text);
        Assert.Equal(-0.000012, samples["tempus_tracking_offset_seconds"]);
        Assert.Equal(-12.5, samples["tempus_tracking_frequency_ppm"]);
        Assert.Equal(3, samples["tempus_tracking_stratum"]);
        Assert.Equal(42, samples["tempus_tracking_updates_total"]);
        Assert.Equal(1, samples["tempus_tracking_reference_info{reference_id=\"C0000201\",name=\"time.example\"}"]);
        Assert.Equal(255, samples["tempus_source_reach{source=\"nts.example\",address=\"192.0.2.1\"}"]);
        Assert.Equal(0.00042, samples["tempus_source_offset_seconds{source=\"nts.example\",address=\"192.0.2.1\"}"]);
        Assert.Equal(1, samples["tempus_source_authenticated{source=\"nts.example\",address=\"192.0.2.1\",mode=\"nts\"}"]);
        Assert.Equal(1, samples["tempus_source_state{source=\"nts.example\",address=\"192.0.2.1\",tempus_source_state=\"selected\"}"]);
        Assert.Equal(0, samples["tempus_source_state{source=\"nts.example\",address=\"192.0.2.1\",tempus_source_state=\"falseticker\"}"]);
        Assert.Equal(100, samples["tempus_source_requests_sent_total{source=\"nts.example\",address=\"192.0.2.1\"}"]);
        Assert.Equal(0, samples["tempus_source_authenticated{source=\"we\\\"ird\\\\name\\nx\",address=\"2001:db8::1\",mode=\"none\"}"]);
        Assert.True(double.IsNaN(samples["tempus_source_last_rx_seconds{source=\"we\\\"ird\\\\name\\nx\",address=\"2001:db8::1\"}"]));
        Assert.Equal(1000, samples["tempus_server_ntp_packets_received_total"]);
        Assert.Equal(7, samples["tempus_server_ntp_packets_dropped_total"]);
        Assert.Equal(2, samples["tempus_server_rate_limit_kods_total"]);
        Assert.Equal(5, samples["tempus_server_nts_ke_connections_accepted_total"]);
    }

    [Fact]
    public async Task OnlyGetMetricsIsServed()
    {
        await using MetricsServer server = await MetricsServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), Snapshot, NullLoggerFactory.Instance);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.LocalEndpoint.Port}") };
        using HttpResponseMessage other = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        using HttpResponseMessage post = await http.PostAsync("/metrics", new StringContent(""));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Fact]
    public async Task AnAddressInUseIsReportedWithTheAddress()
    {
        await using MetricsServer first = await MetricsServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), Snapshot, NullLoggerFactory.Instance);
        IOException e = await Assert.ThrowsAsync<IOException>(() =>
            MetricsServer.StartAsync(first.LocalEndpoint, Snapshot, NullLoggerFactory.Instance));
        Assert.Contains($"cannot serve metrics on {first.LocalEndpoint}", e.Message);
    }

    [Fact]
    public void ADaemonWithoutTrackingOrServerExportsJustTheEnd()
    {
        Assert.Equal("# EOF\n", OpenMetricsWriter.Write(new MetricsSnapshot(null, [], null)));
        Assert.Equal("+Inf", OpenMetricsWriter.FormatNumber(double.PositiveInfinity));
        Assert.Equal("1E-05", OpenMetricsWriter.FormatNumber(0.00001));
    }

    // A strict reading of the OpenMetrics 1.0 text format as Tempus writes it: every family has TYPE and HELP before
    // its samples, samples belong to the family just described (counters with _total, info with _info), no series
    // twice, and "# EOF" ends the text. Returns the samples by "name{labels}".
    private static Dictionary<string, double> Parse(string text)
    {
        Assert.EndsWith("\n# EOF\n", text);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var helped = new HashSet<string>(StringComparer.Ordinal);
        string? family = null;
        string[] lines = text[..^"# EOF\n".Length].Split('\n');
        Assert.Equal("", lines[^1]);
        foreach (string line in lines[..^1])
        {
            Match meta = MetaLine().Match(line);
            if (meta.Success)
            {
                family = meta.Groups["family"].Value;
                if (meta.Groups["kind"].Value == "TYPE")
                {
                    Assert.True(types.TryAdd(family, meta.Groups["rest"].Value), $"family {family} described twice");
                    Assert.Contains(meta.Groups["rest"].Value, new[] { "gauge", "counter", "info", "stateset" });
                }
                else
                {
                    Assert.True(helped.Add(family), $"HELP twice for {family}");
                }

                continue;
            }

            Match sample = SampleLine().Match(line);
            Assert.True(sample.Success, $"not an OpenMetrics sample line: {line}");
            Assert.NotNull(family);
            Assert.True(helped.Contains(family) && types.ContainsKey(family), $"{family} lacks TYPE or HELP");
            string name = sample.Groups["name"].Value;
            string expected = types[family] switch { "counter" => family + "_total", "info" => family + "_info", _ => family };
            Assert.Equal(expected, name);
            string key = name + sample.Groups["labels"].Value;
            string value = sample.Groups["value"].Value;
            double number = value switch
            {
                "NaN" => double.NaN,
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            Assert.True(samples.TryAdd(key, number), $"series {key} twice");
        }

        return samples;
    }

    [GeneratedRegex("^# (?<kind>TYPE|HELP) (?<family>[a-zA-Z_:][a-zA-Z0-9_:]*) (?<rest>.+)$")]
    private static partial Regex MetaLine();

    // Label values: any character but backslash, quote and newline, or one of the escapes \\ \" \n.
    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?<labels>\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();
}
