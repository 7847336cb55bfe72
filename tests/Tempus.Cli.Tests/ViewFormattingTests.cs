using System.Text.Json;
using Tempus.Control;

namespace Tempus.Cli.Tests;

/// <summary>
/// Every view's text against chronyc's: the expected strings come from client.c's formats applied with C printf
/// (an independent oracle), for values that hit each unit branch.
/// </summary>
public sealed class ViewFormattingTests
{
    private static string Lines(string rawLiteral) => rawLiteral.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";

    [Fact]
    public void TrackingMatchesChronycTracking()
    {
        const string expected = """
            Reference ID    : C0000201 (ntp1.example.com)
            Stratum         : 2
            Ref time (UTC)  : Tue Nov 14 22:13:20 2023
            System time     : 0.000001234 seconds fast of NTP time
            Last offset     : -0.000012345 seconds
            RMS offset      : 0.000023400 seconds
            Frequency       : 12.346 ppm slow
            Residual freq   : -0.001 ppm
            Skew            : 0.050 ppm
            Root delay      : 0.000345678 seconds
            Root dispersion : 0.001234567 seconds
            Update interval : 64.2 seconds
            Leap status     : Normal
            Clock control   : free-running (-x): the clock is not adjusted
            """;

        Assert.Equal(Lines(expected), ControlViews.Tracking(KnownReports.Tracking, csv: false));
    }

    [Fact]
    public void TrackingCsvMatchesChronycMinusC()
    {
        const string expected = """
            C0000201,ntp1.example.com,2,1700000000.123456700,-0.000001234,-0.000012345,0.000023400,-12.346,-0.001,0.050,0.000345678,0.001234567,64.2,Normal
            """;

        Assert.Equal(Lines(expected), ControlViews.Tracking(KnownReports.Tracking, csv: true));
    }

    [Fact]
    public void SourcesMatchesChronycSources()
    {
        const string expected = """
            MS Name/IP address         Stratum Poll Reach LastRx Last sample               
            ===============================================================================
            ^* ntp1.example.com              1   6   377    35  +1234ns[  +12us] +/-   15ms
            ^- plain.example.net             3  10   177   66m    -12ms[ -55.5s] +/-  1500s
            ^? a-very-long-host-name.ex>     0   6     0     -     +0ns[   +0ns] +/-    0ns
            ^x far.example                   2   4     1    4d   -3333m[   -0ns] +/- 66667m
            """;

        Assert.Equal(Lines(expected), ControlViews.Sources(KnownReports.Sources, verbose: false, csv: false));
    }

    [Fact]
    public void SourcesCsvShowsAddressesAndRawSeconds()
    {
        const string expected = """
            ^,*,192.0.2.1,1,6,377,35,0.000001234,0.000012300,0.015300000
            ^,-,198.51.100.7,3,10,177,4000,-0.012300000,-55.500000000,1500.000000000
            ^,?,2001:db8::1,0,6,0,4294967295,0.000000000,0.000000000,0.000000000
            ^,x,203.0.113.5,2,4,1,400000,-200000.000000000,-0.000000000,4000000.000000000
            """;

        Assert.Equal(Lines(expected), ControlViews.Sources(KnownReports.Sources, verbose: false, csv: true));
    }

    [Fact]
    public void SourceStatsMatchesChronycSourcestats()
    {
        const string expected = """
            Name/IP Address            NP  NR  Span  Frequency  Freq Skew  Offset  Std Dev
            ==============================================================================
            ntp1.example.com            8   5   520     +0.012      0.345   +250ns  3400ns
            plain.example.net          12   7   11h    -123457      0.500   -250ms  4600us
            a-very-long-host-name.ex>   0   0     0     +0.000      0.000     +0ns     0ns
            far.example                 0   0   20m     +0.000      0.000     +0ns     0ns
            """;

        Assert.Equal(Lines(expected), ControlViews.SourceStats(KnownReports.Sources, verbose: false, csv: false));
    }

    [Fact]
    public void SelectDataShowsTempusStatesAndRootDistance()
    {
        const string expected = """
            S Name/IP Address        Auth COpts EOpts Last   Dist     Interval  Leap
            ========================================================================
            * ntp1.example.com          Y -P--- -PTR-   35   15ms   -14ms   +16ms  N
            A plain.example.net         N ----- -----  66m  15.5s -1512ms +1488ms  +
            ? a-very-long-host-name.ex> Y ----- -----    -    0ns    +0ns    +0ns  ?
            x far.example               N ----- -----   4d    0ns    +0ns    +0ns  N
            """;

        Assert.Equal(Lines(expected), ControlViews.SelectData(KnownReports.Sources, verbose: false, csv: false));
    }

    [Fact]
    public void AuthDataMatchesChronycAuthdata()
    {
        const string expected = """
            Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen
            =========================================================================
            ntp1.example.com             NTS     0   15  256  66m    0    0    8  100
            plain.example.net              -     0    0    0    -    0    0    0    0
            a-very-long-host-name.ex>     SK    11   13  128    -    0    0    0    0
            far.example                    -     0    0    0    -    0    0    0    0
            """;

        Assert.Equal(Lines(expected), ControlViews.AuthData(KnownReports.Sources, verbose: false, csv: false));
    }

    [Fact]
    public void NtpDataOfOneSourceMatchesChronycNtpdata()
    {
        const string expected = """
            Remote address  : 192.0.2.1 (C0000201)
            Remote port     : 123
            Local address   : 192.0.2.100 (C0000264)
            Leap status     : Normal
            Version         : 4
            Mode            : Server
            Stratum         : 1
            Poll interval   : 6 (64 seconds)
            Precision       : -20 (0.000000954 seconds)
            Root delay      : 0.000123 seconds
            Root dispersion : 0.000456 seconds
            Reference ID    : 47505300 (GPS)
            Reference time  : Tue Nov 14 22:13:20 2023
            Offset          : -0.000012300 seconds
            Peer delay      : 0.000345000 seconds
            Peer dispersion : 0.000001200 seconds
            Response time   : 0.000045600 seconds
            NTP tests       : 111 111 1111
            Interleaved     : No
            Authenticated   : Yes
            TX timestamping : Daemon
            RX timestamping : Kernel
            Total TX        : 20
            Total RX        : 19
            Total valid RX  : 18
            """;

        Assert.Equal(Lines(expected), ControlViews.NtpData([KnownReports.Sources[0]], blankLineBefore: false, csv: false));
    }

    [Fact]
    public void ClientsWithKShowsNtsKeColumns()
    {
        const string expected = """
            Hostname                      NTP   Drop Int IntL Last  NTS-KE   Drop Int  Last
            ===============================================================================
            192.0.2.50                   1234      5   6   -    12       3      1  12   11h
            2001:db8:ffff:ffff:ffff:>       0      0   -   -     -       0      0   -     -
            """;

        Assert.Equal(Lines(expected), ControlViews.Clients(KnownReports.Clients, ntsKe: true, csv: false));
    }

    [Fact]
    public void ClientsWithoutKShowsEmptyCommandColumns()
    {
        const string expected = """
            Hostname                      NTP   Drop Int IntL Last     Cmd   Drop Int  Last
            ===============================================================================
            192.0.2.50                   1234      5   6   -    12       0      0   -     -
            2001:db8:ffff:ffff:ffff:>       0      0   -   -     -       0      0   -     -
            """;

        Assert.Equal(Lines(expected), ControlViews.Clients(KnownReports.Clients, ntsKe: false, csv: false));
    }

    // Expected values from C printf (Python's %-formatting) applied as client.c's print_nanoseconds does.
    [Theory]
    [InlineData(0.0, "   0ns", "   -0ns")]
    [InlineData(4.2e-09, "   4ns", "   -4ns")]
    [InlineData(9.9994e-06, "9999ns", "-9999ns")]
    [InlineData(9.9996e-06, "  10us", "  -10us")]
    [InlineData(0.0012345, "1234us", "-1234us")]
    [InlineData(5.678, "5678ms", "-5678ms")]
    [InlineData(123.4, "123.4s", "-123.4s")]
    [InlineData(12345.6, "12346s", "-12346s")]
    [InlineData(600000.0, "10000m", "-10000m")]
    [InlineData(40000000.0, "11111h", "-11111h")]
    [InlineData(4000000000.0, "46296d", "-46296d")]
    [InlineData(4000000000000.0, "126839y", "-126839y")]
    public void DurationsUseChronycsUnits(double seconds, string absolute, string signedNegative)
    {
        Assert.Equal(absolute, ChronycReport.Nanoseconds(seconds));
        Assert.Equal(signedNegative, ChronycReport.SignedNanoseconds(-seconds));
    }

    [Theory]
    [InlineData(0u, "   0")]
    [InlineData(1199u, "1199")]
    [InlineData(1200u, " 20m")]
    [InlineData(35999u, "599m")]
    [InlineData(36000u, " 10h")]
    [InlineData(345599u, " 95h")]
    [InlineData(345600u, "  4d")]
    [InlineData(86313605u, "999d")]
    [InlineData(86400000u, "  2y")]
    [InlineData(4294967294u, "136y")]
    [InlineData(4294967295u, "   -")]
    public void AgesUseChronycsUnits(uint seconds, string expected)
    {
        Assert.Equal(expected, ChronycReport.Seconds(seconds));
    }

    [Fact]
    public void IPv6ReferenceIdIsTheStartOfTheAddressesMd5()
    {
        Assert.Equal(0x39AB9B37u, ControlViews.AddressRefId("2001:db8::1"));
        Assert.Equal(0xC0000201u, ControlViews.AddressRefId("192.0.2.1"));
        Assert.Equal(0u, ControlViews.AddressRefId(""));
    }

    [Fact]
    public void ActivityMatchesChronycActivity()
    {
        Assert.Equal(
            "200 OK\n3 sources online\n1 sources offline\n0 sources doing burst (return to online)\n0 sources doing burst (return to offline)\n1 sources with unknown address\n",
            ControlViews.Activity(KnownReports.Activity, csv: false));
        Assert.Equal("3,1,0,0,1\n", ControlViews.Activity(KnownReports.Activity, csv: true));
    }

    [Fact]
    public void ServerStatsShowsChronycsFieldsThenTempusCounters()
    {
        const string expected = """
            NTP packets received       : 123456
            NTP packets dropped        : 12
            Command packets received   : 7
            Command packets dropped    : 1
            Client log records dropped : 0
            NTS-KE connections accepted: 34
            NTS-KE connections dropped : 2
            Authenticated NTP packets  : 1000
            Interleaved NTP packets    : 0
            NTP responses sent         : 123440
            Rate-limit KoDs sent       : 4
            NTS NAKs sent              : 3
            """;

        Assert.Equal(Lines(expected), ControlViews.ServerStats(KnownReports.ServerStats, csv: false));
        Assert.Equal("123456,12,7,1,0,34,2,1000,0,123440,4,3\n", ControlViews.ServerStats(KnownReports.ServerStats, csv: true));
    }

    [Fact]
    public void SelectDataVerboseExplainsTheDefaultAuthSelectModeExclusion()
    {
        string text = ControlViews.SelectData(KnownReports.Sources, verbose: true, csv: false);

        Assert.StartsWith("  . State: N - noselect, s - unsynchronised, d - large distance, x - falseticker,\n", text, StringComparison.Ordinal);
        Assert.Contains("|          A - unauthenticated (authselectmode), - - not combined (mix),\n", text, StringComparison.Ordinal);
        Assert.Contains(
            "\nState reasons:\n"
            + "* ntp1.example.com          selected: the best of 2 authenticated survivors\n"
            + "A plain.example.net         excluded: authselectmode prefer (the default) selects only authenticated sources once one is configured\n"
            + "? a-very-long-host-name.ex> unreachable: no response to the last 8 requests\n"
            + "x far.example               falseticker: its interval does not overlap the majority's\n",
            text,
            StringComparison.Ordinal);
    }

    [Fact]
    public void SourcesVerbosePrintsChronycsLegendBeforeTheTable()
    {
        string text = ControlViews.Sources(KnownReports.Sources, verbose: true, csv: false);

        Assert.StartsWith("\n  .-- Source mode  '^' = server, '=' = peer, '#' = local clock.\n", text, StringComparison.Ordinal);
        Assert.Contains("||                                 |    |           \\\nMS Name/IP address", text, StringComparison.Ordinal);
        Assert.EndsWith(ControlViews.Sources(KnownReports.Sources, verbose: false, csv: false), text, StringComparison.Ordinal);
    }

    [Fact]
    public void CsvModeHasNoLegendEvenWithV()
    {
        Assert.Equal(ControlViews.SelectData(KnownReports.Sources, false, csv: true), ControlViews.SelectData(KnownReports.Sources, true, csv: true));
        Assert.Equal(ControlViews.AuthData(KnownReports.Sources, false, csv: true), ControlViews.AuthData(KnownReports.Sources, true, csv: true));
        Assert.DoesNotContain("=", ControlViews.SourceStats(KnownReports.Sources, false, csv: true), StringComparison.Ordinal);
    }

    [Fact]
    public void AuthDataVerboseNamesAuthenticationFailures()
    {
        string text = ControlViews.AuthData(KnownReports.Sources, verbose: true, csv: false);

        Assert.Contains("a-very-long-host-name.ex>   3 failed authentication(s); last error: MAC mismatch for key 11\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void NtpDataOfAllSourcesPutsABlankLineBeforeEach()
    {
        string text = ControlViews.NtpData(KnownReports.Sources, blankLineBefore: true, csv: false);

        Assert.Equal(KnownReports.Sources.Count, text.Split("\nRemote address  : ").Length - 1);
        Assert.Contains("Local address   : [UNSPEC] (00000000)\n", text, StringComparison.Ordinal);
        Assert.Contains("Reference ID    : C0000201 ()\n", text, StringComparison.Ordinal); // stratum 3: no text
    }

    [Fact]
    public void JsonOfEveryReportParsesBack()
    {
        string sources = ControlViews.Json(KnownReports.Sources.ToArray(), ControlJsonContext.Default.SourceReportArray);
        string tracking = ControlViews.Json(KnownReports.Tracking, ControlJsonContext.Default.TrackingReport);

        Assert.Equal(KnownReports.Sources, JsonSerializer.Deserialize(sources, ControlJsonContext.Default.SourceReportArray)!);
        Assert.Equal(KnownReports.Tracking, JsonSerializer.Deserialize(tracking, ControlJsonContext.Default.TrackingReport));
        using JsonDocument doc = JsonDocument.Parse(sources);
        Assert.Equal("Unauthenticated", doc.RootElement[1].GetProperty("status").GetString());
        Assert.Equal("Prefer, Trust, Require", doc.RootElement[0].GetProperty("effectiveSelectOptions").GetString());
    }
}
