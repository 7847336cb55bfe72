using System.Net;
using Tempus.Config;
using Tempus.Discipline;
using Tempus.Selection;

namespace Tempus.Tests.Config;

public sealed class ConfigDirectiveTests
{
    private const string File = "/etc/tempus/tempus.conf";

    private static TempusConfiguration ParseOk(string text)
    {
        TempusConfiguration config = ConfigParser.Parse(text, File, out IReadOnlyList<ConfigError> errors);
        Assert.Empty(errors);
        return config;
    }

    private static string[] Errors(string text)
    {
        ConfigParser.Parse(text, File, out IReadOnlyList<ConfigError> errors);
        return errors.Select(e => e.ToString()).ToArray();
    }

    [Fact]
    public void DisciplineDirectivesAreRead()
    {
        TempusConfiguration config = ParseOk("""
            driftfile /var/lib/tempus/drift
            makestep 1.5 3
            maxchange 1000 1 2
            rtcsync
            maxslewrate 1000
            maxupdateskew 100.0
            maxdrift 500
            """);

        DisciplineOptions d = config.Discipline;
        Assert.Equal("/var/lib/tempus/drift", d.DriftFile);
        Assert.Equal(1.5, d.MakeStepThreshold);
        Assert.Equal(3, d.MakeStepLimit);
        Assert.Equal(1000, d.MaxChangeOffset);
        Assert.Equal(1, d.MaxChangeStart);
        Assert.Equal(2, d.MaxChangeIgnore);
        Assert.True(d.RtcSync);
        Assert.Equal(1000, d.MaxSlewRatePpm);
        Assert.Equal(100, d.MaxUpdateSkewPpm);
        Assert.Equal(500, d.MaxDriftPpm);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void DisciplineDefaultsAreChronys()
    {
        DisciplineOptions d = ParseOk("").Discipline;
        Assert.Same(DisciplineOptions.Default, d);
        Assert.Null(d.MakeStepThreshold);
        Assert.Null(d.MaxChangeOffset);
        Assert.Null(d.DriftFile);
        Assert.False(d.RtcSync);
        Assert.Equal(1e6 / 12, d.MaxSlewRatePpm);
        Assert.Equal(1000, d.MaxUpdateSkewPpm);
        Assert.Equal(500000, d.MaxDriftPpm);
    }

    [Fact]
    public void NegativeMakestepLimitAndMaxchangeIgnoreMeanAlwaysAndNever()
    {
        DisciplineOptions d = ParseOk("makestep 0.1 -5\nmaxchange 0.5 0 -1\n").Discipline;
        Assert.Equal(-1, d.MakeStepLimit);
        Assert.Equal(-1, d.MaxChangeIgnore);
    }

    [Fact]
    public void DriftfileIntervalIsReadAndIgnoredWithAWarning()
    {
        TempusConfiguration config = ParseOk("driftfile drift interval 600\n");
        Assert.Equal("/etc/tempus/drift", config.Discipline.DriftFile);
        Assert.Equal($"{File}:1: driftfile: ignored option interval: Tempus writes the drift file at most once an hour and at exit", Assert.Single(config.Warnings).ToString());
    }

    [Fact]
    public void BadDisciplineValuesAreErrorsWithTheirLines()
    {
        Assert.Equal(
            [
                $"{File}:1: makestep: expected at least 2 arguments, got 1",
                $"{File}:2: makestep: threshold -1 out of range: at least 0",
                $"{File}:3: maxchange: offset 0 out of range: must be larger than 0",
                $"{File}:4: maxslewrate: bad slew rate (ppm) 'fast': not a number",
                $"{File}:5: maxupdateskew: bad skew (ppm) 'NaN': not a number",
                $"{File}:6: maxdrift: drift (ppm) -3 out of range: must be larger than 0",
                $"{File}:7: rtcsync: takes no arguments",
                $"{File}:8: driftfile: missing argument",
                $"{File}:9: maxchange: bad start 'x': not an integer",
                $"{File}:10: driftfile: expected FILE [interval SECONDS], got 'a b'",
            ],
            Errors("makestep 1\nmakestep -1 3\nmaxchange 0 1 2\nmaxslewrate fast\nmaxupdateskew NaN\nmaxdrift -3\nrtcsync yes\ndriftfile\nmaxchange 1 x 2\ndriftfile a b\n"));
    }

    [Theory]
    [InlineData("require", AuthSelectMode.Require)]
    [InlineData("prefer", AuthSelectMode.Prefer)]
    [InlineData("MIX", AuthSelectMode.Mix)]
    [InlineData("ignore", AuthSelectMode.Ignore)]
    public void AuthselectmodeIsRead(string word, AuthSelectMode mode)
    {
        Assert.Equal(mode, ParseOk($"authselectmode {word}\n").Selection.AuthSelectMode);
    }

    [Fact]
    public void SelectionDirectivesAreRead()
    {
        SelectionOptions s = ParseOk("minsources 2\nmaxdistance 1.5\ncombinelimit 0\nmaxjitter 0.25\nserver a.example.net\nserver b.example.net\n").Selection;
        Assert.Equal(0.25, s.MaxJitter);
        Assert.Equal(2, s.MinSources);
        Assert.Equal(1.5, s.MaxDistance);
        Assert.Equal(0, s.CombineLimit);
        Assert.Equal(AuthSelectMode.Prefer, s.AuthSelectMode);
    }

    [Fact]
    public void BadSelectionValuesAreErrors()
    {
        Assert.Equal(
            [
                $"{File}:1: authselectmode: unknown mode 'always' (expected require, prefer, mix or ignore)",
                $"{File}:2: minsources: source count 0 out of range 1-2147483647",
                $"{File}:3: maxdistance: distance 0 out of range: must be larger than 0",
                $"{File}:4: combinelimit: limit -1 out of range: at least 0",
                $"{File}:5: maxjitter: jitter 0 out of range: at least 1E-09",
            ],
            Errors("authselectmode always\nminsources 0\nmaxdistance 0\ncombinelimit -1\nmaxjitter 0\n"));
    }

    [Fact]
    public void CmdportZeroIsSilentAndAnyOtherValueIsAWarning()
    {
        TempusConfiguration off = ParseOk("cmdport 0\n");
        Assert.Equal(0, off.CommandPort);
        Assert.Empty(off.Warnings);

        TempusConfiguration other = ParseOk("cmdport 257\n");
        Assert.Equal(257, other.CommandPort);
        Assert.Contains("Tempus has no UDP command port", Assert.Single(other.Warnings).Message, StringComparison.Ordinal);
        Assert.Equal(323, ParseOk("").CommandPort);
        Assert.Equal([$"{File}:1: cmdport: port 70000 out of range 0-65535"], Errors("cmdport 70000\n"));
    }

    [Fact]
    public void BindcmdaddressSetsTheSocketPathOrDisablesItOrWarnsAboutAnAddress()
    {
        Assert.Equal(TempusConfiguration.DefaultCommandSocketPath, ParseOk("").CommandSocketPath);
        Assert.Equal("/run/tempus/ctl.sock", ParseOk("bindcmdaddress /run/tempus/ctl.sock\n").CommandSocketPath);
        Assert.Null(ParseOk("bindcmdaddress /\n").CommandSocketPath);

        TempusConfiguration address = ParseOk("bindcmdaddress 127.0.0.1\nbindcmdaddress ::1\n");
        Assert.Equal(TempusConfiguration.DefaultCommandSocketPath, address.CommandSocketPath);
        Assert.Equal(2, address.Warnings.Count);
        Assert.All(address.Warnings, w => Assert.Contains("Tempus has no UDP command port", w.Message, StringComparison.Ordinal));

        Assert.Equal(
            [
                $"{File}:1: bindcmdaddress: 'run/tempus.sock' is neither an absolute socket path nor an IP address",
                $"{File}:2: bindcmdaddress: missing argument",
                $"{File}:3: bindcmdaddress: '/run/tempus/' names a directory: give the socket's file name",
            ],
            Errors("bindcmdaddress run/tempus.sock\nbindcmdaddress\nbindcmdaddress /run/tempus/\n"));
    }

    [Fact]
    public void LogKindsAndLogdirAreRead()
    {
        TempusConfiguration config = ParseOk("log measurements statistics tracking\nlog rtc refclocks tempcomp rawmeasurements selection\nlogdir /var/log/tempus\n");
        Assert.Equal(
            ["measurements", "rawmeasurements", "refclocks", "rtc", "selection", "statistics", "tempcomp", "tracking"],
            config.LogKinds.Order(StringComparer.Ordinal));
        Assert.Equal("/var/log/tempus", config.LogDirectory);
        Assert.Null(ParseOk("").LogDirectory);
    }

    [Fact]
    public void AnUnknownLogKindIsAnErrorAndTheOthersStillCount()
    {
        TempusConfiguration config = ConfigParser.Parse("log tracking everything\n", File, out IReadOnlyList<ConfigError> errors);
        Assert.Equal(["tracking"], config.LogKinds);
        Assert.Equal(
            $"{File}:1: log: unknown log 'everything' (expected measurements, rawmeasurements, refclocks, rtc, selection, statistics, tempcomp, tracking)",
            Assert.Single(errors).ToString());
    }

    [Fact]
    public void RatelimitDefaultsAndOptionsAreChronys()
    {
        Assert.Null(ParseOk("").RateLimit);
        Assert.Null(ParseOk("").NtsRateLimit);
        Assert.Equal(new RateLimitOptions(3, 8, 2, 0), ParseOk("ratelimit\n").RateLimit);
        Assert.Equal(new RateLimitOptions(6, 8, 2, 0), ParseOk("ntsratelimit\n").NtsRateLimit);
        Assert.Equal(new RateLimitOptions(1, 16, 4, 2), ParseOk("ratelimit interval 1 burst 16 kod 2 leak 4\n").RateLimit);
        Assert.Equal(new RateLimitOptions(-19, 255, 1, 0), ParseOk("ratelimit interval -19 burst 255 leak 1\n").RateLimit);
        Assert.Equal(new RateLimitOptions(3, 1, 2, 0), ParseOk("ntsratelimit interval 3 burst 1\n").NtsRateLimit);
    }

    [Fact]
    public void BadRatelimitValuesAreErrors()
    {
        Assert.Equal(
            [
                $"{File}:1: ratelimit: interval 13 out of range -19-12",
                $"{File}:2: ratelimit: burst 0 out of range 1-255",
                $"{File}:3: ratelimit: leak 5 out of range 1-4",
                $"{File}:4: ratelimit: kod 5 out of range 0-4",
                $"{File}:5: ntsratelimit: unknown option 'kod' (expected interval, burst, leak)",
                $"{File}:6: ratelimit: option 'burst' needs a value",
                $"{File}:7: ntsratelimit: interval -20 out of range -19-12",
            ],
            Errors("ratelimit interval 13\nratelimit burst 0\nratelimit leak 5\nratelimit kod 5\nntsratelimit kod 1\nratelimit burst\nntsratelimit interval -20\n"));
    }

    [Fact]
    public void NtsprocessesSetsTheNtsKeEventLoopsAndIsBounded()
    {
        Assert.Equal(4, ParseOk("ntsprocesses 4\n").NtsProcesses);
        Assert.Equal(0, ParseOk("ntsprocesses 0\n").NtsProcesses);
        Assert.Null(ParseOk("").NtsProcesses);
        Assert.Empty(ParseOk("ntsprocesses 2\n").Warnings);
        Assert.Equal(
            [
                $"{File}:1: ntsprocesses: process count 65 out of range 0-64",
                $"{File}:2: ntsprocesses: process count -1 out of range 0-64",
                $"{File}:3: ntsprocesses: bad process count 'many': not an integer",
            ],
            Errors("ntsprocesses 65\nntsprocesses -1\nntsprocesses many\n"));
    }

    [Fact]
    public void ServerDirectivesOfIssueFiveAreRead()
    {
        TempusConfiguration config = ParseOk("clientloglimit 1048576\nnoclientlog\nmetricsaddress 127.0.0.1:9123\nserverworkers 4\nuser _tempus\n");
        Assert.Equal(1048576, config.ClientLogLimit);
        Assert.True(config.NoClientLog);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9123), config.MetricsAddress);
        Assert.Equal(4, config.ServerWorkers);
        Assert.Equal("_tempus", config.User);

        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 65535), ParseOk("metricsaddress [::1]:65535\n").MetricsAddress);

        TempusConfiguration defaults = ParseOk("");
        Assert.Equal(524288, defaults.ClientLogLimit);
        Assert.False(defaults.NoClientLog);
        Assert.Null(defaults.MetricsAddress);
        Assert.Equal(0, defaults.ServerWorkers);
        Assert.Null(defaults.User);
    }

    [Fact]
    public void AClientloglimitAboveTwoGigabytesIsClampedWithAWarning()
    {
        TempusConfiguration config = ParseOk("clientloglimit 4294967295\n");
        Assert.Equal(2147483648, config.ClientLogLimit);
        Assert.Contains("largest effective value 2147483648", Assert.Single(config.Warnings).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadServerValuesAreErrors()
    {
        Assert.Equal(
            [
                $"{File}:1: metricsaddress: '127.0.0.1' is not ADDRESS:PORT (write IPv6 addresses as [ADDRESS]:PORT)",
                $"{File}:2: metricsaddress: port 0 out of range 1-65535",
                $"{File}:3: metricsaddress: '::1:9123' is not ADDRESS:PORT (write IPv6 addresses as [ADDRESS]:PORT)",
                $"{File}:4: metricsaddress: 'localhost' is not an IPv4 address",
                $"{File}:5: metricsaddress: '[::1]' is not ADDRESS:PORT (IPv6: [ADDRESS]:PORT)",
                $"{File}:6: metricsaddress: '127.1' is not an IPv4 address",
                $"{File}:7: serverworkers: worker count 65 out of range 0-64",
                $"{File}:8: user: 'bad/user' is not a valid user name",
                $"{File}:9: clientloglimit: bad limit '-1': not an unsigned 32-bit integer",
                $"{File}:10: noclientlog: takes no arguments",
                $"{File}:11: metricsaddress: port 65536 out of range 1-65535",
            ],
            Errors("metricsaddress 127.0.0.1\nmetricsaddress 127.0.0.1:0\nmetricsaddress ::1:9123\nmetricsaddress localhost:9123\nmetricsaddress [::1]\nmetricsaddress 127.1:80\nserverworkers 65\nuser bad/user\nclientloglimit -1\nnoclientlog yes\nmetricsaddress [::1]:65536\n"));
    }

    [Fact]
    public void NtscachedirIsChronysOldNameForNtsdumpdir()
    {
        Assert.Equal("/var/lib/tempus", ParseOk("ntscachedir /var/lib/tempus\n").NtsDumpDirectory);
    }

    [Fact]
    public void LeapsecmodeSystemAndIgnoreAreReadAndTheOthersWarn()
    {
        Assert.True(ParseOk("leapsecmode system\n").Discipline.ApplyLeapSeconds);
        Assert.False(ParseOk("leapsecmode ignore\n").Discipline.ApplyLeapSeconds);
        TempusConfiguration slew = ParseOk("leapsecmode slew\n");
        Assert.True(slew.Discipline.ApplyLeapSeconds);
        Assert.Contains("does not implement leapsecmode slew", Assert.Single(slew.Warnings).Message, StringComparison.Ordinal);
        Assert.Equal([$"{File}:1: leapsecmode: unknown mode 'smear' (expected system, step, slew or ignore)"], Errors("leapsecmode smear\n"));
    }

    [Theory]
    [InlineData("pidfile /run/chronyd.pid")]
    [InlineData("dumpdir /var/lib/chrony")]
    [InlineData("lock_all")]
    [InlineData("sched_priority 1")]
    [InlineData("hwclockfile /etc/adjtime")]
    [InlineData("rtconutc")]
    [InlineData("rtcdevice /dev/rtc1")]
    [InlineData("rtcfile /var/lib/chrony/rtc")]
    [InlineData("rtcautotrim 30")]
    [InlineData("mailonchange root@localhost 0.5")]
    [InlineData("logchange 0.5")]
    [InlineData("logbanner 20")]
    [InlineData("stratumweight 0.01")]
    [InlineData("reselectdist 0.0001")]
    [InlineData("corrtimeratio 10")]
    [InlineData("maxclockerror 10")]
    [InlineData("manual")]
    [InlineData("smoothtime 400 0.001024 leaponly")]
    [InlineData("hwtimestamp eth0")]
    [InlineData("acquisitionport 1123")]
    [InlineData("dscp 46")]
    [InlineData("ptpport 319")]
    [InlineData("initstepslew 30 ntp1.example.net")]
    [InlineData("cmdallow 192.168.0.0/16")]
    public void ChronyDirectivesTempusDoesNotImplementAreWarnings(string line)
    {
        TempusConfiguration config = ParseOk("\n" + line + "\n");
        ConfigError warning = Assert.Single(config.Warnings);
        string name = line.Split(' ')[0].ToLowerInvariant();
        Assert.Equal(2, warning.Line);
        Assert.StartsWith($"{name}: ignored: Tempus does not implement {name}", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitstepslewSuggestsMakestep()
    {
        Assert.Contains("use makestep", Assert.Single(ParseOk("initstepslew 30 ntp1.example.net\n").Warnings).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("refclock PPS /dev/pps0")]
    [InlineData("binddevice eth0")]
    [InlineData("maxstratum 3")]
    [InlineData("ntsaeads 15")]
    public void ChronyDirectivesThatWouldChangeTrustOrExposureAreErrorsNamingThemAsChrony(string line)
    {
        string name = line.Split(' ')[0];
        Assert.Equal([$"{File}:1: {name}: the chrony directive '{name}' is not supported by Tempus: remove it, or keep chronyd for this machine"], Errors(line + "\n"));
    }

    [Fact]
    public void TrulyUnknownDirectivesStayErrors()
    {
        Assert.Equal([$"{File}:1: unknown directive 'frobnicate'"], Errors("frobnicate 1\n"));
    }

    [Fact]
    public void AMisspelledDirectiveOrOptionGetsASuggestion()
    {
        Assert.Equal(
            [
                $"{File}:1: unknown directive 'sever' (did you mean 'server'?)",
                $"{File}:2: server: unknown option 'ibrust' (did you mean 'iburst'?)",
                $"{File}:3: unknown directive 'MakeSteps' (did you mean 'makestep'?)",
            ],
            Errors("sever ntp.example.net\nserver ntp.example.net ibrust\nMakeSteps 1 3\n"));
    }

    [Theory]
    [InlineData("leapsectz right/UTC", "right/UTC", null)]
    [InlineData("LeapSecTZ right/UTC", "right/UTC", null)]
    [InlineData("leapseclist /usr/share/zoneinfo/leap-seconds.list", null, "/usr/share/zoneinfo/leap-seconds.list")]
    public void LeapSecondTablesAreConfiguredAsInChrony(string line, string? zone, string? list)
    {
        TempusConfiguration config = ParseOk(line + "\n");

        Assert.Empty(config.Warnings);
        Assert.Equal(zone, config.LeapSecondTimezone);
        Assert.Equal(list, config.LeapSecondList);
    }

    [Fact]
    public void ALeapSecondZoneOutsideTheDatabaseIsAnError()
    {
        Assert.Equal(
            [$"{File}:1: leapsectz: zone '../../etc/localtime' leaves the time zone database (a '..' component)"],
            Errors("leapsectz ../../etc/localtime\n"));
    }

    [Fact]
    public void KnownDirectivesListsImplementedAndIgnoredOnes()
    {
        Assert.Contains("server", ConfigParser.KnownDirectives);
        Assert.Contains("sourcedir", ConfigParser.KnownDirectives);
        Assert.Contains("leapsectz", ConfigParser.KnownDirectives);
        Assert.DoesNotContain("refclock", ConfigParser.KnownDirectives);
    }
}
