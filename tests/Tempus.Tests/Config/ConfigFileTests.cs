using Tempus.Config;
using Tempus.Discipline;
using Tempus.Sources;

namespace Tempus.Tests.Config;

/// <summary>include, confdir and sourcedir against real files in a private temporary directory.</summary>
public sealed class ConfigFileTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"tempus-config-{Guid.NewGuid():N}");

    public ConfigFileTests()
    {
        Directory.CreateDirectory(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(string relativePath, string text)
    {
        string path = Path.Combine(_root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private TempusConfiguration Check(string mainText, out string[] errors)
    {
        string main = Write("tempus.conf", mainText);
        TempusConfiguration config = ConfigParser.Check(main, out IReadOnlyList<ConfigError> found);
        errors = found.Select(e => e.ToString().Replace(_root, "$ROOT", StringComparison.Ordinal)).ToArray();
        return config;
    }

    private TempusConfiguration CheckOk(string mainText)
    {
        TempusConfiguration config = Check(mainText, out string[] errors);
        Assert.Empty(errors);
        return config;
    }

    private static string[] Hosts(TempusConfiguration config) => config.Sources.Select(s => s.Host).ToArray();

    [Fact]
    public void IncludeReadsOneFileAtTheDirectivesPosition()
    {
        Write("extra.conf", "server b.example.net\nmakestep 0.5 -1\n");
        TempusConfiguration config = CheckOk("server a.example.net\ninclude extra.conf\nserver c.example.net\n");
        Assert.Equal(["a.example.net", "b.example.net", "c.example.net"], Hosts(config));
        SourceDefinition included = config.Sources[1];
        Assert.Equal(Path.Combine(_root, "extra.conf"), included.FileName);
        Assert.Equal(1, included.Line);
        Assert.Equal(0.5, config.Discipline.MakeStepThreshold);
    }

    [Fact]
    public void IncludeGlobReadsMatchingFilesInSortedOrder()
    {
        Write("conf.d/20-b.conf", "server b.example.net\n");
        Write("conf.d/10-a.conf", "server a.example.net\n");
        Write("conf.d/30-c.conf.disabled", "server disabled.example.net\n");
        Write("conf.d/.hidden.conf", "server hidden.example.net\n");
        Write("conf.d/x1.conf", "server x1.example.net\n");
        TempusConfiguration config = CheckOk($"include {_root}/conf.d/*.conf\ninclude conf.d/x?.conf\n");
        Assert.Equal(["a.example.net", "b.example.net", "x1.example.net", "x1.example.net"], Hosts(config));
    }

    [Fact]
    public void AGlobMatchingNothingIsAWarningAndAMissingFileAnError()
    {
        TempusConfiguration config = Check("include nothing/*.conf\ninclude missing.conf\n", out string[] errors);
        Assert.Equal(["$ROOT/tempus.conf:2: include: cannot read '$ROOT/missing.conf': No such file or directory"], errors);
        Assert.Equal($"{_root}/tempus.conf:1: include: no file matches '{_root}/nothing/*.conf'", Assert.Single(config.Warnings).ToString());
    }

    [Fact]
    public void WildcardsInADirectoryOfAnIncludeAreAnError()
    {
        Check("include */x.conf\n", out string[] errors);
        Assert.Equal(["$ROOT/tempus.conf:1: include: '*/x.conf': wildcards are allowed only in the file name, not in directories"], errors);
    }

    [Fact]
    public void IncludingADirectoryIsAnError()
    {
        Directory.CreateDirectory(Path.Combine(_root, "dir.conf"));
        Check("include dir.conf\n", out string[] errors);
        Assert.Equal(["$ROOT/tempus.conf:1: include: cannot read '$ROOT/dir.conf': is a directory"], errors);
    }

    [Fact]
    public void ErrorsInsideAnIncludedFileNameThatFileAndLine()
    {
        Write("a.conf", "# fragment\nmaxslewrate fast\ninclude b.conf\n");
        Write("b.conf", "\n\nserver ntp.example.net version 9\n");
        Check("port x\ninclude a.conf\nrtcsync now\n", out string[] errors);
        Assert.Equal(
            [
                "$ROOT/tempus.conf:1: port: bad port 'x': not an integer",
                "$ROOT/a.conf:2: maxslewrate: bad slew rate (ppm) 'fast': not a number",
                "$ROOT/b.conf:3: server: version 9 out of range 1-4",
                "$ROOT/tempus.conf:3: rtcsync: takes no arguments",
            ],
            errors);
    }

    [Fact]
    public void AFileIncludingItselfIsAnErrorAndReadingGoesOn()
    {
        Write("loop.conf", "server loop.example.net\ninclude loop.conf\n");
        TempusConfiguration config = Check("include loop.conf\nserver after.example.net\n", out string[] errors);
        Assert.Equal(["$ROOT/loop.conf:2: include: '$ROOT/loop.conf' includes itself ($ROOT/loop.conf -> $ROOT/loop.conf)"], errors);
        Assert.Equal(["loop.example.net", "after.example.net"], Hosts(config));
    }

    [Fact]
    public void AnIncludeCycleThroughTheMainFileIsAnError()
    {
        Write("a.conf", "include b.conf\n");
        Write("b.conf", "include tempus.conf\n");
        Check("include a.conf\n", out string[] errors);
        Assert.Equal(["$ROOT/b.conf:1: include: '$ROOT/tempus.conf' includes itself ($ROOT/tempus.conf -> $ROOT/a.conf -> $ROOT/b.conf -> $ROOT/tempus.conf)"], errors);
    }

    [Fact]
    public void IncludesNestDeeperThanTenLevelsOnlyWithAnError()
    {
        for (int level = 1; level <= 11; level++)
        {
            Write($"level{level}.conf", level < 11 ? $"include level{level + 1}.conf\nserver l{level}.example.net\n" : "server l11.example.net\n");
        }

        TempusConfiguration config = Check("include level1.conf\n", out string[] errors);
        Assert.Equal(["$ROOT/level10.conf:1: include: '$ROOT/level11.conf' would be nested more than 10 levels deep: is there an include loop?"], errors);
        Assert.Equal(10, config.Sources.Count);
    }

    [Fact]
    public void ConfdirReadsConfFilesOfAllDirectoriesSortedByNameAndTheFirstDirectoryWins()
    {
        Write("etc/10-site.conf", "server etc-site.example.net\n");
        Write("etc/30-local.conf", "server etc-local.example.net\n");
        Write("usr/10-site.conf", "server usr-site.example.net\n");
        Write("usr/20-vendor.conf", "server usr-vendor.example.net\n");
        Write("usr/notes.txt", "not a directive\n");
        TempusConfiguration config = CheckOk("confdir etc usr absent\n");
        Assert.Equal(["etc-site.example.net", "usr-vendor.example.net", "etc-local.example.net"], Hosts(config));
        Assert.Equal(
            ["tempus.conf", "etc/10-site.conf", "usr/20-vendor.conf", "etc/30-local.conf"],
            config.ConfigurationFiles.Select(f => Path.GetRelativePath(_root, f)));
    }

    [Fact]
    public void ConfdirWithMoreThanTenDirectoriesIsAnError()
    {
        Check("confdir a b c d e f g h i j k\n", out string[] errors);
        Assert.Equal(["$ROOT/tempus.conf:1: confdir: 11 directories, more than 10 (use the directive twice)"], errors);
    }

    [Fact]
    public void ConfdirNamingAFileIsAnError()
    {
        Write("plain", "x");
        Check("confdir plain\n", out string[] errors);
        Assert.Equal(["$ROOT/tempus.conf:1: confdir: '$ROOT/plain' is not a directory"], errors);
    }

    [Fact]
    public void SourcedirReadsSourcesFilesAfterTheConfigurationWithTheFirstDirectoryWinning()
    {
        Write("dhcp/eth0.sources", "server dhcp-eth0.example.net iburst\n");
        Write("dhcp/wlan0.sources", "pool dhcp-wlan0.example.net\n");
        Write("static/eth0.sources", "server static-eth0.example.net\n");
        Write("static/a.sources", "# admin's servers\nserver static-a.example.net nts\n");
        Write("static/ignored.conf", "server no.example.net\n");
        TempusConfiguration config = CheckOk("sourcedir dhcp\nsourcedir static /nonexistent/tempus-dhcp\nserver main.example.net\n");

        Assert.Equal(["main.example.net", "static-a.example.net", "dhcp-eth0.example.net", "dhcp-wlan0.example.net"], Hosts(config));
        Assert.Equal(
            [Path.Combine(_root, "tempus.conf"), Path.Combine(_root, "static", "a.sources"), Path.Combine(_root, "dhcp", "eth0.sources"), Path.Combine(_root, "dhcp", "wlan0.sources")],
            config.ConfigurationFiles);
        Assert.Equal([Path.Combine(_root, "dhcp"), Path.Combine(_root, "static"), "/nonexistent/tempus-dhcp"], config.SourceDirectories);
        SourceDefinition fromFile = config.Sources[1];
        Assert.Equal(Path.Combine(_root, "static", "a.sources"), fromFile.FileName);
        Assert.Equal(2, fromFile.Line);
        Assert.True(fromFile.Nts);
    }

    [Fact]
    public void SourcesFilesAllowOnlySourceLines()
    {
        Write("src/a.sources", "server ok.example.net\nmakestep 1 3\npeer p.example.net\nserver bad..example.net\n");
        TempusConfiguration config = Check("sourcedir src\n", out string[] errors);
        Assert.Equal(
            [
                "$ROOT/src/a.sources:2: 'makestep' is not allowed in a .sources file: only server, pool and peer lines are",
                "$ROOT/src/a.sources:3: peer: symmetric active mode (peer) is not supported; use server",
                "$ROOT/src/a.sources:4: server: 'bad..example.net' is not a valid host name (a dot-separated label is empty or longer than 63 characters)",
            ],
            errors);
        Assert.Equal(["ok.example.net"], Hosts(config));
    }

    [Fact]
    public void AnUnterminatedLastLineOfASourcesFileIsIgnoredWithAWarning()
    {
        Write("src/a.sources", "server one.example.net\nserver half.exam");
        TempusConfiguration config = CheckOk("sourcedir src\n");
        Assert.Equal(["one.example.net"], Hosts(config));
        ConfigError warning = Assert.Single(config.Warnings);
        Assert.Equal(Path.Combine(_root, "src", "a.sources"), warning.FileName);
        Assert.Equal(2, warning.Line);
    }

    [Fact]
    public void ReadSourceDirectoriesRereadsTheDirectoriesForReload()
    {
        Write("dhcp/eth0.sources", "server 192.0.2.1 iburst\nserver 192.0.2.2 key 9\n");
        Write("static/eth0.sources", "server shadowed.example.net\n");
        Write("static/z.sources", "pool pool.example.net maxsources 2 minpoll\n");

        IReadOnlyList<SourceDefinition> sources = ConfigParser.ReadSourceDirectories(
            [Path.Combine(_root, "dhcp"), Path.Combine(_root, "static"), Path.Combine(_root, "gone")],
            out IReadOnlyList<ConfigError> errors);

        Assert.Equal(["192.0.2.1", "192.0.2.2"], sources.Select(s => s.Host));
        ConfigError error = Assert.Single(errors);
        Assert.Equal($"{_root}/static/z.sources:1: pool: option 'minpoll' needs a value", error.ToString());
    }

    [Fact]
    public void ReadSourceDirectoriesChecksKeysAgainstTheRunningConfiguration()
    {
        Write("dhcp/eth0.sources", "server 192.0.2.1 key 9\nserver 192.0.2.2 burst\n");
        TempusConfiguration running = ConfigParser.Parse("keyfile /etc/tempus/keys\ntrustedkey 1-5\n", Path.Combine(_root, "tempus.conf"), out _);

        IReadOnlyList<SourceDefinition> sources = ConfigParser.ReadSourceDirectories(
            [Path.Combine(_root, "dhcp")], running, out IReadOnlyList<ConfigError> errors, out IReadOnlyList<ConfigError> warnings);

        Assert.Equal(2, sources.Count);
        Assert.Equal($"{_root}/dhcp/eth0.sources:1: server 192.0.2.1: key 9 is not a trustedkey: add it to trustedkey, or use a trusted key", Assert.Single(errors).ToString());
        Assert.Equal(2, Assert.Single(warnings).Line);
    }

    [Fact]
    public void ARealisticDebianChronyConfParsesWithOnlyWarnings()
    {
        string etc = Path.Combine(_root, "etc", "chrony");
        Write("etc/chrony/sources.d/local-ntp.sources", "server ntp.corp.example iburst\n");
        Write("etc/chrony/conf.d/local.conf", "allow 192.168.0.0/16\n");
        Write("etc/chrony/chrony.keys", "1 SHA1 HEX:0123456789ABCDEF0123456789ABCDEF01234567\n");
        string main = Write("etc/chrony/chrony.conf", $"""
            # Welcome to the chrony configuration file. See chrony.conf(5) for more
            # information about usable directives.

            # Include configuration files found in /etc/chrony/conf.d.
            confdir {etc}/conf.d

            # Use Debian vendor zone.
            pool 2.debian.pool.ntp.org iburst

            # Use time sources from DHCP.
            sourcedir /run/chrony-dhcp

            # Use NTP sources found in /etc/chrony/sources.d.
            sourcedir {etc}/sources.d

            # This directive specify the location of the file containing ID/key pairs for
            # NTP authentication.
            keyfile {etc}/chrony.keys

            # This directive specify the file into which chronyd will store the rate
            # information.
            driftfile /var/lib/chrony/chrony.drift

            # Save NTS keys and cookies.
            ntsdumpdir /var/lib/chrony

            # Uncomment the following line to turn logging on.
            #log tracking measurements statistics

            # Log files location.
            logdir /var/log/chrony

            # Stop bad estimates upsetting machine clock.
            maxupdateskew 100.0

            # This directive enables kernel synchronisation (every 11 minutes) of the
            # real-time clock. Note that it can't be used along with the 'rtcfile' directive.
            rtcsync

            # Step the system clock instead of slewing it if the adjustment is larger than
            # one second, but only in the first three clock updates.
            makestep 1 3

            # Get TAI-UTC offset and leap seconds from the system tz database.
            # This directive must be commented out when using time sources serving
            # leap-smeared time.
            leapsectz right/UTC

            """);

        TempusConfiguration config = ConfigParser.Check(main, out IReadOnlyList<ConfigError> errors);

        Assert.Empty(errors);
        Assert.Equal(["2.debian.pool.ntp.org", "ntp.corp.example"], Hosts(config));
        Assert.Equal(SourceKind.Pool, config.Sources[0].Kind);
        Assert.True(config.Sources[0].IBurst);
        Assert.Equal(["/run/chrony-dhcp", $"{etc}/sources.d"], config.SourceDirectories);
        Assert.Equal($"{etc}/chrony.keys", config.KeyFile);
        DisciplineOptions d = config.Discipline;
        Assert.Equal("/var/lib/chrony/chrony.drift", d.DriftFile);
        Assert.Equal(100.0, d.MaxUpdateSkewPpm);
        Assert.True(d.RtcSync);
        Assert.Equal((1.0, 3), (d.MakeStepThreshold, d.MakeStepLimit));
        Assert.Equal("/var/lib/chrony", config.NtsDumpDirectory);
        Assert.Equal("/var/log/chrony", config.LogDirectory);
        Assert.Empty(config.LogKinds);
        Assert.True(config.NtpAccess.IsAllowed(System.Net.IPAddress.Parse("192.168.1.2")));
        Assert.Equal("right/UTC", config.LeapSecondTimezone);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void CheckReportsEveryProblemOfEveryFileInOnePass()
    {
        Write("conf.d/a.conf", "maxdistance -1\n");
        Write("src/x.sources", "server x.example.net key 8\n");
        Check("trustedkey 1\nconfdir conf.d\nsourcedir src\nbogus\nserver y.example.net nts certset 4\nkeyfile /etc/tempus/keys\n", out string[] errors);
        Assert.Equal(
            [
                "$ROOT/conf.d/a.conf:1: maxdistance: distance -1 out of range: must be larger than 0",
                "$ROOT/tempus.conf:4: unknown directive 'bogus'",
                "$ROOT/tempus.conf:5: server y.example.net: certset 4 is not defined: add 'ntstrustedcerts 4 FILE|DIR'",
                "$ROOT/src/x.sources:1: server x.example.net: key 8 is not a trustedkey: add it to trustedkey, or use a trusted key",
            ],
            errors);
    }

    [Fact]
    public void AnEndlessDeviceIsReadOnlyUpToTheSizeLimit()
    {
        Check("include /dev/zero\n", out string[] errors);
        Assert.Equal([$"$ROOT/tempus.conf:1: include: cannot read '/dev/zero': file is larger than the {ConfigParser.MaxFileSize}-byte limit"], errors);
    }

    [Fact]
    public void AByteOrderMarkAtTheStartOfAFileIsSkipped()
    {
        string path = Path.Combine(_root, "bom.conf");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "rtcsync\n"u8]);
        TempusConfiguration config = ConfigParser.Check(path, out IReadOnlyList<ConfigError> errors);
        Assert.Empty(errors);
        Assert.True(config.Discipline.RtcSync);
    }

    [Fact]
    public void ADirectoryGivenAsTheConfigurationIsOneError()
    {
        ConfigParser.Check(_root, out IReadOnlyList<ConfigError> errors);
        Assert.Equal($"{_root}: cannot read configuration: is a directory", Assert.Single(errors).ToString());
    }
}
