using System.Buffers.Binary;
using System.Net;
using Tempus.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests;

// tempusd with `cryptonak` answers a request whose key it does not accept with a crypto-NAK instead of
// dropping it (RFC 5905 §7.3: a MAC of only a zero key id). Seen from NTPsec's ntpdig, which dumps the
// raw response, and from tempusctl, whose contract is exit code 6.
[Collection(InteropCollectionDefinition.Name)]
public sealed class CryptoNakTests
{
    private const string Address = "127.0.0.7";

    private readonly PeerPaths _paths;
    private readonly ITestOutputHelper _output;

    public CryptoNakTests(PeerPaths paths, ITestOutputHelper output)
    {
        _paths = paths;
        _output = output;
    }

    [Fact(Timeout = 60_000)]
    public async Task NtpdigWithWrongKeyGetsCryptoNakFromTempusdWithCryptonak()
    {
        using var keys = new TempDirectory("keys");
        SymmetricKey key = SymmetricKey.Random(11, "SHA1");
        string chronyKeys = keys.WriteFile("chrony.keys", SymmetricKey.ChronyFile([key]));
        string wrongNtpKeys = keys.WriteFile("wrong.keys", SymmetricKey.NtpFile([key.WithRandomValue()]));
        await using TempusDaemon tempusd = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions
        {
            BindAddress = Address,
            Port = 123,
            KeyFile = chronyKeys,
            CryptoNak = true,
        });

        NtpdigResult result = await Ntpdig.QueryAsync(_paths, _output, Address, wrongNtpKeys, 11, timeoutSeconds: 2, dumpPackets: true);

        Assert.False(result.MacVerified, $"ntpdig verified a MAC made with a different key\n{result.Command}");
        IReadOnlyList<byte[]> packets = result.DumpedPackets;
        Assert.True(packets.Count == 2, $"expected ntpdig to dump its request and one response, found {packets.Count} packets\n{result.Command}");
        byte[] request = packets[0];
        byte[] response = packets[1];
        Assert.True(response.Length == 52, $"a crypto-NAK is the 48-byte header and a 4-byte zero key id; got {response.Length} bytes\n{result.Command}");
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(48)));
        Assert.Equal(4, response[0] & 0x7); // mode 4, server
        Assert.True(response.AsSpan(24, 8).SequenceEqual(request.AsSpan(40, 8)), $"the crypto-NAK's origin timestamp is not the request's transmit timestamp\n{result.Command}");
    }

    [Fact(Timeout = 60_000)]
    public async Task TempusctlReportsCryptoNakFromTempusdWithCryptonak()
    {
        using var keys = new TempDirectory("keys");
        SymmetricKey key = SymmetricKey.Random(11, "SHA1");
        string serverKeys = keys.WriteFile("server.keys", SymmetricKey.ChronyFile([key]));
        string clientKeys = keys.WriteFile("client.keys", SymmetricKey.ChronyFile([key.WithRandomValue()]));
        await using TempusDaemon tempusd = await TempusDaemon.StartAsync(_paths, _output, new TempusdOptions { KeyFile = serverKeys, CryptoNak = true });
        var ctl = new TempusCtl(_paths, _output);

        TempusQuery query = await ctl.QueryAsync(tempusd.Address, tempusd.Port, keyId: 11, keyFile: clientKeys);

        Expect.Exit(query.Command, TempusCtlExit.CryptoNak);
        Assert.True(query.Command.Stdout.Trim().Length == 0, $"a crypto-NAK printed a result\n{query.Command}");
    }
}
