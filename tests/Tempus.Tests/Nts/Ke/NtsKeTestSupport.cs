using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Tests.Tls;
using Tempus.Tls;

namespace Tempus.Tests.Nts.Ke;

/// <summary>
/// A cookie issuer whose cookies are the AEAD id (u16 BE), the C2S key and the S2C key, so that a test can read
/// back from any cookie exactly which keys the server derived.
/// </summary>
internal sealed class TransparentCookieIssuer : INtsCookieIssuer
{
    private int _issued;

    public int MaxCookieLength => 2 + 64 + 64;

    public int Issued => Volatile.Read(ref _issued);

    /// <summary>When set, <see cref="IssueCookie"/> throws it (a server without a master key, say).</summary>
    public Exception? Failure { get; set; }

    public int IssueCookie(NtsAeadAlgorithm algorithm, ReadOnlySpan<byte> c2sKey, ReadOnlySpan<byte> s2cKey, Span<byte> destination)
    {
        if (Failure is not null)
        {
            throw Failure;
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)algorithm);
        c2sKey.CopyTo(destination.Slice(2));
        s2cKey.CopyTo(destination.Slice(2 + c2sKey.Length));
        Interlocked.Increment(ref _issued);
        return 2 + c2sKey.Length + s2cKey.Length;
    }

    public static (NtsAeadAlgorithm Algorithm, byte[] C2S, byte[] S2C) Open(byte[] cookie)
    {
        int keyLength = (cookie.Length - 2) / 2;
        return ((NtsAeadAlgorithm)BinaryPrimitives.ReadUInt16BigEndian(cookie), cookie[2..(2 + keyLength)], cookie[(2 + keyLength)..]);
    }
}

/// <summary>A clock that moves only when told to, with timers that fire as it passes their due time.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now;

    public ManualTimeProvider(DateTimeOffset start) => _now = start;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public int ActiveTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count;
            }
        }
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock on, firing each timer due on the way, in order, on the calling thread.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_lock)
        {
            target = _now + by;
        }

        while (true)
        {
            ManualTimer? due;
            lock (_lock)
            {
                due = _timers.Where(t => t.Due <= target).MinBy(t => t.Due);
                if (due is null)
                {
                    _now = target;
                    return;
                }

                _now = due.Due;
                if (due.Period > TimeSpan.Zero && due.Period != Timeout.InfiniteTimeSpan)
                {
                    due.Due += due.Period;
                }
                else
                {
                    _timers.Remove(due);
                }
            }

            due.Fire();
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset Due { get; set; }

        public TimeSpan Period { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
                Period = period;
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    Due = owner._now + dueTime;
                    owner._timers.Add(this);
                }
            }

            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>A logger that keeps every entry for assertions.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
}

internal static class NtsKe
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    public static NtsKeServer StartServer(
        IReadOnlyList<TlsCertificateKeyPair> certificates,
        INtsCookieIssuer issuer,
        Func<NtsKeServerOptions, NtsKeServerOptions>? configure = null,
        ILogger? logger = null,
        TimeProvider? timeProvider = null)
    {
        var options = new NtsKeServerOptions
        {
            Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)],
            Certificates = certificates,
            CertificateCheckInterval = TimeSpan.Zero,
        };
        var server = new NtsKeServer(configure is null ? options : configure(options), issuer, logger, timeProvider);
        server.Start();
        return server;
    }

    public static int Port(this NtsKeServer server) => server.LocalEndpoints[0].Port;

    // The client's limits are the test's: exchanges that must succeed (up to 50 at once, on a loaded 2-core CI machine
    // whose thread pool other tests starve) are not bounded by the product's 5 s defaults. Tests of the timeouts set
    // their own short ones.
    public static NtsKeClientOptions ClientOptions(string caFile, params NtsAeadAlgorithm[] algorithms) => new()
    {
        TrustedCertificateFiles = [caFile],
        UseSystemCertificates = false,
        AeadAlgorithms = algorithms.Length == 0 ? NtsKeClientOptions.DefaultAeadAlgorithms : algorithms,
        HandshakeTimeout = TestTimeout,
        ResponseTimeout = TestTimeout,
    };

    /// <summary>A TLS client with no NTS-KE logic: for sending the server whatever a test wants.</summary>
    public static async Task<TlsSession> ConnectRawAsync(string caFile, int port)
    {
        using var context = new TlsClientContext(new TlsClientOptions
        {
            ServerName = "localhost",
            TrustedCertificateFiles = [caFile],
            UseSystemCertificates = false,
        });
        return await context.ConnectAsync("127.0.0.1", port);
    }

    public static byte[] Request(NtsKeRequest request)
    {
        byte[] bytes = new byte[NtsKeMessageWriter.GetRequestLength(request)];
        Assert.True(NtsKeMessageWriter.TryWriteRequest(bytes, request, out _));
        return bytes;
    }

    public static byte[] Response(NtsKeResponse response)
    {
        byte[] bytes = new byte[NtsKeMessageWriter.GetResponseLength(response)];
        Assert.True(NtsKeMessageWriter.TryWriteResponse(bytes, response, out _));
        return bytes;
    }

    /// <summary>Reads everything until the peer's close_notify.</summary>
    public static async Task<byte[]> ReadToEndAsync(TlsSession session)
    {
        using var all = new MemoryStream();
        byte[] buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TestTimeout);
        int read;
        while ((read = await session.ReadAsync(buffer, timeout.Token)) > 0)
        {
            all.Write(buffer, 0, read);
        }

        return all.ToArray();
    }

    public static NtsKeResponse ParseResponse(byte[] bytes)
    {
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(bytes));
        Assert.True(new NtsKeResponseParser().TryParse(ref reader, isFinalBlock: true, out NtsKeResponse? response));
        Assert.Equal(0, reader.Remaining);
        return response;
    }

    public static NtsKeRequest ParseRequest(byte[] bytes)
    {
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(bytes));
        Assert.True(new NtsKeRequestParser().TryParse(ref reader, isFinalBlock: true, out NtsKeRequest? request));
        return request;
    }

    /// <summary>RFC 8915 §5.1 exporter on a raw session, with the AEAD id of the caller's choosing in the context.</summary>
    public static byte[] Export(TlsSession session, ushort contextAeadId, byte direction, int length)
    {
        byte[] context = [0, 0, (byte)(contextAeadId >> 8), (byte)contextAeadId, direction];
        byte[] key = new byte[length];
        session.ExportKeyingMaterial("EXPORTER-network-time-security", context, key);
        return key;
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds: server counters move after the client is done.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Runs a one-shot NTS-KE "server" made by hand on a loopback listener: TLS accept, read the request, then let
    /// <paramref name="respond"/> write what it likes.
    /// </summary>
    public static async Task<NtsKeRequest?> ServeOnceAsync(Loopback loopback, TlsServerContext tls, Func<TlsSession, NtsKeRequest, Task> respond)
    {
        using TlsSession session = await loopback.AcceptTlsAsync(tls);
        var parser = new NtsKeRequestParser();
        using var timeout = new CancellationTokenSource(TestTimeout);
        NtsKeRequest request = await NtsKeStream.ReadMessageAsync<NtsKeRequest>(session, NtsKeLimits.MaxRequestLength, parser.TryParse, null, timeout.Token);
        await respond(session, request);
        await session.ShutdownAsync();
        return request;
    }
}
