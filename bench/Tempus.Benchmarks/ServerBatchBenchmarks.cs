using System.Net;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Tempus.Auth;
using Tempus.Clock;
using Tempus.Config;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Server;

namespace Tempus.Benchmarks;

/// <summary>
/// One server worker's whole path between recvmmsg and sendmmsg, with no socket: a batch of 64 requests from 64
/// clients through the client table (ratelimit on), the engine and the send queue. Budget: 0 B per batch.
/// </summary>
[MemoryDiagnoser]
public class ServerBatchBenchmarks
{
    private NtpServerEngine _engine = null!;
    private UdpNtpServer.Worker _worker = null!;
    private NtsServerKeyRing _ring = null!;
    private KeyRing _keys = null!;
    private string _keyFile = "";

    /// <summary>What the batch holds.</summary>
    [Params("plain", "aes128", "nts")]
    public string Kind { get; set; } = "plain";

    [GlobalSetup]
    public void Setup()
    {
        _keyFile = Path.Combine(Path.GetTempPath(), $"tempus-bench-batch-{Guid.NewGuid():N}.keys");
        File.WriteAllText(_keyFile, "21 AES128 HEX:000102030405060708090A0B0C0D0E0F\n");
        File.SetUnixFileMode(_keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _keys = KeyRing.Load(_keyFile, new List<KeyFileWarning>());
        _ring = NtsServerKeyRing.CreateEphemeral(RealtimeClock.Instance, 3600);
        var access = new AccessRules();
        access.Add(true, false, null);
        // A bucket no benchmark client empties: the table's cost is measured, not its drops.
        var log = new ClientLog(524288, new RateLimitOptions(IntervalLog2: -19, Burst: 255, Leak: 1), null, RealtimeClock.Instance);
        _engine = new NtpServerEngine(RealtimeClock.Instance, _keys, access, false, now => ReferenceState.Local(2, now), _ring, log);
        _worker = new UdpNtpServer.Worker(_engine, RealtimeClock.Instance, kernelTimestamps: true, UdpNtpServer.BatchSize, NullLogger.Instance, socket: null);

        byte[] request = Kind switch
        {
            "nts" => NtsRequest(),
            _ => PlainRequest(Kind == "aes128"),
        };
        for (int i = 0; i < _worker.Batch.Capacity; i++)
        {
            byte[] address = new IPEndPoint(new IPAddress(new byte[] { 10, 0, 0, (byte)i }), 40000 + i).Serialize().Buffer.ToArray();
            _worker.Batch.SetReceived(i, request, address, RealtimeClock.Instance.UnixNanoseconds);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _worker.Dispose();
        _ring.Dispose();
        _keys.Dispose();
        File.Delete(_keyFile);
    }

    /// <summary>64 requests answered and queued for one sendmmsg.</summary>
    [Benchmark(OperationsPerInvoke = UdpNtpServer.BatchSize)]
    public int ServeBatch()
    {
        int queued = _worker.ProcessBatch(_worker.Batch.Capacity);
        _worker.Batch.ClearQueue();
        return queued;
    }

    private byte[] PlainRequest(bool mac)
    {
        byte[] buffer = new byte[100];
        var header = new NtpPacketHeader { Version = 4, Mode = NtpMode.Client, TransmitTimestamp = RealtimeClock.Instance.NtpNow };
        header.TryWrite(buffer, out int length);
        if (mac && _keys.TryGetKey(21, out SymmetricKey? key))
        {
            length += key.WriteMac(buffer.AsSpan(0, length), buffer.AsSpan(length));
        }

        return buffer[..length];
    }

    private byte[] NtsRequest()
    {
        byte[] c2s = RandomNumberGenerator.GetBytes(32);
        byte[] s2c = RandomNumberGenerator.GetBytes(32);
        var session = new NtsSession
        {
            KeServer = "localhost",
            KePort = 4460,
            NtpServer = "localhost",
            NtpPort = 123,
            Algorithm = NtsAeadAlgorithm.AesSivCmac256,
            C2SKey = c2s,
            S2CKey = s2c,
            EstablishedUnixNanoseconds = RealtimeClock.Instance.UnixNanoseconds,
        };
        byte[] cookie = new byte[_ring.MaxCookieLength];
        int length = _ring.IssueCookie(NtsAeadAlgorithm.AesSivCmac256, c2s, s2c, cookie);
        session.Cookies.Enqueue(cookie[..length]);
        return NtsNtpRequest.Create(session, -20).Datagram.ToArray();
    }
}
