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

        // Prompt means it acts on SIGTERM instead of waiting to be killed; 20 s (not 5) so that a loaded CI machine
        // running the shutdown through the JIT is not mistaken for a daemon that ignores the signal.
        bool exitedOnTerm = await tempusd.StopAsync(TimeSpan.FromSeconds(20));

        Assert.True(exitedOnTerm, $"tempusd did not exit within 20 s of SIGTERM\n{tempusd.Log}");
    }
}
