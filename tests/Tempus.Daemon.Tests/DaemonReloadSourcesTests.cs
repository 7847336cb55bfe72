using Tempus.Config;
using Tempus.Control;

namespace Tempus.Daemon.Tests;

/// <summary>
/// <c>tempusctl reload sources</c> on an in-process tempusd (clock control off): the <c>sourcedir</c> files are read
/// again and their sources replace those read before, the main file's sources stay, and a file start-up would refuse
/// is refused with the sources left as they were. The sources poll addresses on loopback where nothing answers.
/// </summary>
public sealed class DaemonReloadSourcesTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempusd-reload-sources-").FullName;
    private readonly MessageLog _log = new();
    private DaemonHost? _host;

    private string SourceDirectory => Path.Combine(_dir, "sources.d");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task TheSourceDirectoryFilesReplaceTheSourcesReadFromThemBeforeAndTheMainFilesSourcesStay()
    {
        Directory.CreateDirectory(SourceDirectory);
        File.WriteAllText(Path.Combine(SourceDirectory, "a.sources"), "server 127.0.0.2 port 9\n");
        DaemonHost host = await StartAsync();
        Assert.Equal(["127.0.0.2", "127.0.0.3"], await SourceAddressesAsync(host));

        File.Delete(Path.Combine(SourceDirectory, "a.sources"));
        File.WriteAllText(Path.Combine(SourceDirectory, "b.sources"), "server 127.0.0.4 port 9\nserver 127.0.0.5 port 9\n");
        Assert.Equal(3, await host.ReloadSourcesAsync(CancellationToken.None)); // one removed, two added
        Assert.Equal(["127.0.0.3", "127.0.0.4", "127.0.0.5"], await SourceAddressesAsync(host));

        // Nothing changed: nothing removed and added again, the main file's source included.
        Assert.Equal(0, await host.ReloadSourcesAsync(CancellationToken.None));
        Assert.Equal(["127.0.0.3", "127.0.0.4", "127.0.0.5"], await SourceAddressesAsync(host));
    }

    [Fact]
    public async Task AFileWithAnErrorIsRefusedNamingItsLineAndTheSourcesStayAsTheyWere()
    {
        Directory.CreateDirectory(SourceDirectory);
        File.WriteAllText(Path.Combine(SourceDirectory, "a.sources"), "server 127.0.0.2 port 9\n");
        DaemonHost host = await StartAsync();

        File.WriteAllText(Path.Combine(SourceDirectory, "b.sources"), "server 127.0.0.4 port 9\nserver 127.0.0.5 port\n");
        ControlCommandException refused = await Assert.ThrowsAsync<ControlCommandException>(() => host.ReloadSourcesAsync(CancellationToken.None));
        Assert.Contains("sources unchanged", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"{Path.Combine(SourceDirectory, "b.sources")}:2", refused.Message, StringComparison.Ordinal);
        Assert.Equal(["127.0.0.2", "127.0.0.3"], await SourceAddressesAsync(host));
    }

    [Theory]
    [InlineData("server 127.0.0.4 port 9 certset 7 nts\n", "certset 7 is not defined")]
    [InlineData("server 127.0.0.4 port 9 key 99\n", "key 99 is not a trustedkey")]
    public async Task ASourceStartUpWouldRefuseIsRefusedByAReloadToo(string line, string reason)
    {
        Directory.CreateDirectory(SourceDirectory);
        File.WriteAllText(Path.Combine(SourceDirectory, "b.sources"), line);

        // At start-up the configuration is refused for it...
        string config = WriteConfig();
        ConfigurationException atStart = Assert.Throws<ConfigurationException>(() => ConfigParser.Load(config));
        Assert.Contains(atStart.Errors, e => e.ToString().Contains(reason, StringComparison.Ordinal));

        // ...and a reload that finds it, the daemon having started without it, refuses it the same way.
        File.Delete(Path.Combine(SourceDirectory, "b.sources"));
        DaemonHost host = await StartAsync();
        File.WriteAllText(Path.Combine(SourceDirectory, "b.sources"), line);
        ControlCommandException refused = await Assert.ThrowsAsync<ControlCommandException>(() => host.ReloadSourcesAsync(CancellationToken.None));
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.Equal(["127.0.0.3"], await SourceAddressesAsync(host));
    }

    [Fact]
    public async Task AReloadLogsTheWarningsOfTheFilesItReads()
    {
        DaemonHost host = await StartAsync();
        File.WriteAllText(Path.Combine(SourceDirectory, "b.sources"), "server 127.0.0.4 port 9 maxpoll 3\n");
        Assert.Equal(1, await host.ReloadSourcesAsync(CancellationToken.None));
        Assert.True(_log.Contains($"configuration: {Path.Combine(SourceDirectory, "b.sources")}:1: "), _log.All());
        Assert.True(_log.Contains("maxpoll 3 is below the default minpoll"), _log.All());
    }

    private string WriteConfig()
    {
        string keys = Path.Combine(_dir, "tempus.keys");
        File.WriteAllText(keys, "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n99 AES128 HEX:F0E0D0C0B0A090807060504030201000\n");
        File.SetUnixFileMode(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string config = Path.Combine(_dir, "tempus.conf");
        File.WriteAllText(config, $"port 0\nbindcmdaddress /\nkeyfile {keys}\ntrustedkey 21\nserver 127.0.0.3 port 9\nsourcedir {SourceDirectory}\n");
        return config;
    }

    private async Task<DaemonHost> StartAsync()
    {
        Directory.CreateDirectory(SourceDirectory);
        string config = WriteConfig();
        TempusConfiguration parsed = ConfigParser.Load(config);
        _host = new DaemonHost(DaemonOptions.Parse(["-x", "-f", config]), parsed, null, _log, virtualClock: true);
        await _host.StartSourcesAsync(CancellationToken.None);
        return _host;
    }

    private static async Task<string[]> SourceAddressesAsync(DaemonHost host) =>
        (await host.GetSourcesAsync(CancellationToken.None)).Select(s => s.Name).Order(StringComparer.Ordinal).ToArray();
}
