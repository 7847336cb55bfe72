using System.Net;
using BenchmarkDotNet.Attributes;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Benchmarks;

/// <summary>
/// The server's per-request hot path: parse, MAC verify, response build. The allocation budget is 0 B per
/// request (MemoryDiagnoser's "Allocated" column must read "-").
/// </summary>
[MemoryDiagnoser]
public class PacketBenchmarks
{
    private static readonly UInt128 s_client = ((UInt128)0xffff << 32) | 0x7F000001;
    private readonly byte[] _response = new byte[NtpServerEngine.MaxResponseSize];
    private byte[] _plain = [];
    private byte[] _signed = [];
    private NtpServerEngine _engine = null!;
    private KeyRing _keys = null!;
    private SymmetricKey _key = null!;
    private string _keyFile = "";

    /// <summary>The key type used for the authenticated cases.</summary>
    [Params("SHA1", "AES128", "MD5")]
    public string KeyType { get; set; } = "SHA1";

    [GlobalSetup]
    public void Setup()
    {
        _keyFile = Path.Combine(Path.GetTempPath(), $"tempus-bench-{Guid.NewGuid():N}.keys");
        File.WriteAllText(_keyFile, """
            1 MD5 HEX:0102030405060708090A0B0C0D0E0F10
            11 SHA1 HEX:00112233445566778899AABBCCDDEEFF00112233
            21 AES128 HEX:000102030405060708090A0B0C0D0E0F
            """);
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        _keys.TryGetKey(KeyType switch { "MD5" => 1u, "SHA1" => 11u, _ => 21u }, out SymmetricKey? key);
        _key = key!;

        var access = new AccessRules();
        access.Add(true, false, IPNetwork.Parse("127.0.0.0/8"));
        _engine = new NtpServerEngine(RealtimeClock.Instance, _keys, access, false, now => ReferenceState.Local(2, now));

        var header = new NtpPacketHeader { Version = 4, Mode = NtpMode.Client, TransmitTimestamp = RealtimeClock.Instance.NtpNow };
        _plain = new byte[NtpPacketHeader.Size];
        header.TryWrite(_plain, out _);
        _signed = new byte[NtpPacketHeader.Size + 24];
        int length = NtpPacketHeader.Size + _key.WriteMac(_plain, _signed.AsSpan(NtpPacketHeader.Size));
        _plain.CopyTo(_signed, 0);
        _signed = _signed[..length];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _keys.Dispose();
        File.Delete(_keyFile);
    }

    /// <summary>Header parse plus the legacy-MAC/extension-field layout rule.</summary>
    [Benchmark]
    public int ParseSignedPacket()
    {
        NtpPacketLayout.TryParse(_signed, out NtpPacketLayout layout);
        return layout.MacLength;
    }

    /// <summary>MAC verification alone, with the request's key.</summary>
    [Benchmark]
    public bool VerifyMac() => _key.VerifyDigest(_signed.AsSpan(0, NtpPacketHeader.Size), _signed.AsSpan(NtpPacketHeader.Size + 4));

    /// <summary>A whole plain request through the server engine.</summary>
    [Benchmark]
    public int ServePlainRequest() => _engine.Process(_plain, s_client, default, _response, out _);

    /// <summary>A whole authenticated request: parse, verify, build, sign.</summary>
    [Benchmark]
    public int ServeSignedRequest() => _engine.Process(_signed, s_client, default, _response, out _);
}
