using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Tempus.Auth;
using Tempus.Nts;
using Tempus.Protocol;

namespace Tempus.LoadGen;

/// <summary>The three request kinds measured.</summary>
internal enum LoadKind
{
    /// <summary>NTPv4 client request with no authentication.</summary>
    Plain,

    /// <summary>NTPv4 client request with a symmetric-key MAC (RFC 8573 AES128-CMAC, key id 1).</summary>
    Symmetric,

    /// <summary>NTS-protected request (RFC 8915, AEAD 15): one cookie, no placeholders, as a client with a full cookie jar sends.</summary>
    Nts,
}

/// <summary>
/// Many distinct prebuilt requests of one kind in one pinned buffer, with the pinned iovec and mmsghdr arrays that
/// describe them, so that sending a batch is one sendmmsg over a slice with nothing to prepare. Responses are
/// accepted cheaply: a server packet (mode 4, not a kiss-o'-death) whose origin timestamp is one of our transmit
/// timestamps (RFC 5905 §8), long enough to carry the kind's authentication. A full cryptographic check of
/// sample exchanges is <see cref="VerifyExchange"/>'s job, run before the load.
/// </summary>
internal sealed unsafe class RequestPool
{
    private const int Stride = 1280;

    private readonly byte[] _buffer;
    private readonly Interop.Libc.IoVec[] _iovecs;
    private readonly Interop.Libc.MMsgHdr[] _messages;
    private readonly HashSet<ulong> _transmits;
    private readonly SymmetricKey? _key;
    private readonly NtsNtpRequest[]? _ntsRequests;

    private RequestPool(LoadKind kind, int count, SymmetricKey? key)
    {
        Kind = kind;
        Count = count;
        _key = key;
        _buffer = GC.AllocateArray<byte>(count * Stride, pinned: true);
        _iovecs = GC.AllocateArray<Interop.Libc.IoVec>(count, pinned: true);
        _messages = GC.AllocateArray<Interop.Libc.MMsgHdr>(count, pinned: true);
        _transmits = new HashSet<ulong>(count);
        if (kind == LoadKind.Nts)
        {
            _ntsRequests = new NtsNtpRequest[count];
        }
    }

    public LoadKind Kind { get; }

    public int Count { get; }

    /// <summary>Length of each request datagram.</summary>
    public int RequestLength { get; private set; }

    /// <summary>Shortest datagram that can be a valid response of this kind.</summary>
    public int MinResponseLength { get; private set; }

    /// <summary>Plain NTPv4 client requests with distinct random transmit timestamps.</summary>
    public static RequestPool Plain(int count)
    {
        var pool = new RequestPool(LoadKind.Plain, count, null);
        for (int i = 0; i < count; i++)
        {
            Span<byte> slot = pool.Slot(i);
            WriteClientHeader(slot, pool.NewTransmit());
            pool.Finish(i, NtpPacketHeader.Size);
        }

        pool.MinResponseLength = NtpPacketHeader.Size;
        return pool;
    }

    /// <summary>Client requests with a MAC under <paramref name="key"/> (RFC 5905 §7.3 key id + digest after the header).</summary>
    public static RequestPool Symmetric(int count, SymmetricKey key)
    {
        var pool = new RequestPool(LoadKind.Symmetric, count, key);
        for (int i = 0; i < count; i++)
        {
            Span<byte> slot = pool.Slot(i);
            WriteClientHeader(slot, pool.NewTransmit());
            int macLength = key.WriteMac(slot[..NtpPacketHeader.Size], slot[NtpPacketHeader.Size..]);
            pool.Finish(i, NtpPacketHeader.Size + macLength);
        }

        pool.MinResponseLength = NtpPacketHeader.Size + key.MacLength;
        return pool;
    }

    /// <summary>
    /// NTS requests from the keys and cookies of one NTS-KE exchange: request i carries cookie i mod 8 and keeps seven
    /// in the jar, so it has no placeholders, like a client in steady state. Both servers accept a cookie more
    /// than once (RFC 8915 §6 leaves reuse to the client), so the pool can be sent over and over.
    /// </summary>
    public static RequestPool Nts(int count, NtsSession session)
    {
        byte[][] cookies = [.. session.Cookies];
        if (cookies.Length == 0)
        {
            throw new InvalidOperationException($"NTS-KE with {session.KeServer}:{session.KePort} returned no cookie");
        }

        var pool = new RequestPool(LoadKind.Nts, count, null);
        for (int i = 0; i < count; i++)
        {
            var copy = new NtsSession
            {
                KeServer = session.KeServer,
                KePort = session.KePort,
                NtpServer = session.NtpServer,
                NtpPort = session.NtpPort,
                Algorithm = session.Algorithm,
                C2SKey = session.C2SKey,
                S2CKey = session.S2CKey,
                EstablishedUnixNanoseconds = session.EstablishedUnixNanoseconds,
            };
            for (int c = 0; c < NtsNtpRequest.TargetCookieCount; c++)
            {
                copy.Cookies.Enqueue(cookies[(i + c) % cookies.Length]);
            }

            NtsNtpRequest request = NtsNtpRequest.Create(copy, -20);
            ReadOnlySpan<byte> datagram = request.Datagram.Span;
            if (datagram.Length > Stride)
            {
                throw new InvalidOperationException($"an NTS request of {datagram.Length} bytes does not fit the {Stride}-byte slot");
            }

            datagram.CopyTo(pool.Slot(i));
            pool._ntsRequests![i] = request;
            if (!pool._transmits.Add(request.TransmitTimestamp.Value))
            {
                throw new InvalidOperationException("two NTS requests drew the same random transmit timestamp");
            }

            pool.Finish(i, datagram.Length);
        }

        // Header, Unique Identifier field (4 + 32), authenticator field (4 + nonce + at least the 16-byte tag).
        pool.MinResponseLength = NtpPacketHeader.Size + 36 + 4 + 16 + 16;
        return pool;
    }

    /// <summary>The mmsghdr of request <paramref name="index"/>; the next ones follow it in memory.</summary>
    public Interop.Libc.MMsgHdr* Message(int index) => (Interop.Libc.MMsgHdr*)Unsafe.AsPointer(ref _messages[index]);

    /// <summary>The datagram of request <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> Datagram(int index) => _buffer.AsSpan(index * Stride, (int)_iovecs[index].Length);

    /// <summary>The cheap per-packet check used under load.</summary>
    public bool IsResponse(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= MinResponseLength
        && (datagram[0] & 0x07) == 4
        && datagram[1] != 0
        && _transmits.Contains(BinaryPrimitives.ReadUInt64BigEndian(datagram[24..]));

    /// <summary>
    /// Checks one exchange fully: the response to request <paramref name="index"/> matches it and, for the
    /// authenticated kinds, its MAC verifies under the key or its NTS authenticator under the S2C key. Returns why not, or null.
    /// </summary>
    public string? VerifyExchange(int index, ReadOnlySpan<byte> response)
    {
        if (response.Length < NtpPacketHeader.Size)
        {
            return $"a {response.Length}-byte datagram is shorter than an NTP header";
        }

        NtpPacketHeader header = NtpPacketHeader.Read(response);
        if (Kind != LoadKind.Nts && (header.Mode != NtpMode.Server || header.OriginTimestamp.Value != ReadTransmit(Datagram(index))))
        {
            return $"not a server response to our request (mode {header.Mode}, origin {header.OriginTimestamp.Value:x16})";
        }

        if (header.IsKissOfDeath)
        {
            return $"kiss-o'-death (stratum 0, code 0x{header.ReferenceId:x8})";
        }

        switch (Kind)
        {
            case LoadKind.Symmetric:
                int macLength = _key!.MacLength;
                if (response.Length != NtpPacketHeader.Size + macLength)
                {
                    return $"response of {response.Length} bytes has no {macLength}-byte MAC after the header";
                }

                uint keyId = BinaryPrimitives.ReadUInt32BigEndian(response[NtpPacketHeader.Size..]);
                if (keyId != _key.Id || !_key.VerifyDigest(response[..NtpPacketHeader.Size], response[(NtpPacketHeader.Size + 4)..]))
                {
                    return $"MAC with key id {keyId} does not verify under key {_key.Id}";
                }

                break;
            case LoadKind.Nts:
                NtsResponseStatus status = _ntsRequests![index].Accept(response, out _);
                if (status != NtsResponseStatus.Accepted)
                {
                    return $"NTS response not accepted: {status}";
                }

                break;
        }

        return IsResponse(response) ? null : "the cheap response check rejects a valid response";
    }

    private static ulong ReadTransmit(ReadOnlySpan<byte> request) => BinaryPrimitives.ReadUInt64BigEndian(request[40..]);

    private static void WriteClientHeader(Span<byte> destination, ulong transmit)
    {
        var header = new NtpPacketHeader
        {
            Leap = LeapIndicator.Unsynchronized,
            Version = 4,
            Mode = NtpMode.Client,
            Poll = 6,
            Precision = -20,
            TransmitTimestamp = new NtpTimestamp(transmit),
        };
        header.TryWrite(destination, out _);
    }

    private Span<byte> Slot(int index) => _buffer.AsSpan(index * Stride, Stride);

    // A random transmit timestamp, unique in the pool (RFC 5905 §9.1: clients may randomize it, as chrony does).
    private ulong NewTransmit()
    {
        while (true)
        {
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
            if (value != 0 && _transmits.Add(value))
            {
                return value;
            }
        }
    }

    private void Finish(int index, int length)
    {
        if (RequestLength != 0 && RequestLength != length)
        {
            throw new InvalidOperationException($"request {index} is {length} bytes, the others {RequestLength}");
        }

        RequestLength = length;
        byte* data = (byte*)Unsafe.AsPointer(ref _buffer[index * Stride]);
        _iovecs[index] = new Interop.Libc.IoVec { Base = data, Length = (nuint)length };
        _messages[index] = new Interop.Libc.MMsgHdr
        {
            Header = new Interop.Libc.MsgHdr { Iov = (Interop.Libc.IoVec*)Unsafe.AsPointer(ref _iovecs[index]), IovLength = 1 },
        };
    }
}
