using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

[Collection(InteropCollectionDefinition.Name)]
public sealed class TempusdProcessTests
{
    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;

    public TempusdProcessTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
    }

    [Fact(Timeout = 60_000)]
    public async Task TempusdExitsPromptlyOnSigterm()
    {
        await using TempusDaemon tempusd = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions());

        bool exitedOnTerm = await tempusd.StopAsync(TimeSpan.FromSeconds(5));

        Assert.True(exitedOnTerm, $"tempusd did not exit within 5 s of SIGTERM\n{tempusd.Log}");
    }
}
