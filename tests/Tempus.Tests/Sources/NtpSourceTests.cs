using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Tempus.Control;
using Tempus.Crypto;
using Tempus.Nts;
using Tempus.Protocol;
using Tempus.Selection;
using Tempus.Server;
using Tempus.Sources;
using Tempus.Testing;
using Tempus.Tests.Nts;

namespace Tempus.Tests.Sources;

public sealed class NtpSourceTests : IDisposable
{
    private readonly SourceLab _lab = new();

    public void Dispose() => _lab.Dispose();

    [Theory]
    [InlineData(0.25, 0.0, 0.010, 0.010)]
    [InlineData(-1.5, 0.0, 0.010, 0.010)]
    [InlineData(0.0, 0.125, 0.005, 0.005)]
    [InlineData(0.25, 0.0, 0.030, 0.010)]
    public void OffsetAndDelayFollowRfc5905WithAKnownServerOffsetAndPath(double serverError, double localError, double outbound, double inbound)
    {
        _lab.ServerError = serverError;
        _lab.LocalError = localError;
        NtpSource source = _lab.Source(SourceLab.Definition());

        SourceResponseOutcome outcome = _lab.Poll(source, outbound, 0.0005, inbound);

        Assert.Equal(SourceResponseOutcome.Accepted, outcome);
        NtpSample sample = Assert.NotNull(source.LastSample);

        // Offset is reference − local: positive when the server is ahead; an asymmetric path biases it by half the
        // difference (RFC 5905 §8), and the delay excludes the server's processing time.
        Assert.Equal(serverError - localError + (outbound - inbound) / 2, sample.Offset, 8);
        Assert.Equal(outbound + inbound, sample.Delay, 8);
        Assert.Equal(0.010, sample.RootDelay, 4);
        Assert.Equal(0.020, sample.RootDispersion, 4);
        Assert.Equal(2, sample.Stratum);
        Assert.Equal(1, source.Statistics.SampleCount);
        Assert.Equal(1, source.SamplesAccepted);
        Assert.Equal(1, source.Reach);

        // ε = ρ_server + ρ_local + PHI·(T4 − T1) with precisions 2^-23 and 2^-20.
        Assert.Equal(Math.ScaleB(1, -23) + Math.ScaleB(1, -20) + 15e-6 * (outbound + 0.0005 + inbound), sample.Dispersion, 10);
    }

    [Fact]
    public void RequestsCarryARandomTransmitTimestampNotTheLocalTime()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        NtpPacketHeader first = NtpPacketHeader.Read(_lab.Request(source));
        source.OnTimeout(_lab.LocalNs);
        _lab.AdvanceToNextPoll(source);
        NtpPacketHeader second = NtpPacketHeader.Read(_lab.Request(source));

        Assert.Equal(NtpMode.Client, first.Mode);
        Assert.Equal(4, first.Version);
        Assert.Equal(4, first.Poll);
        Assert.NotEqual(first.TransmitTimestamp, second.TransmitTimestamp);
        long fromLocal = Math.Abs(first.TransmitTimestamp - NtpTimestamp.FromUnixTimeNanoseconds(_lab.LocalNs));
        Assert.True(fromLocal > NtpTimestamp.SecondsToFixed(3600), "the transmit timestamp should not be the local time");
    }

    [Fact]
    public void AResponseWithAnotherOriginTimestampIsIgnoredAndTheRequestStaysOutstanding()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        byte[] response = _lab.Serve(_lab.Request(source));
        byte[] forged = (byte[])response.Clone();
        forged[31] ^= 1;
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.Ignored, _lab.Deliver(source, forged));
        Assert.True(source.AwaitingResponse);
        Assert.Equal(0, source.Reach);
        Assert.Equal("101 111 1111", source.Report(_lab.LocalNs).NtpTests);

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
        Assert.False(source.AwaitingResponse);
    }

    [Fact]
    public void ADuplicatedResponseIsIgnored()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        byte[] response = _lab.Serve(_lab.Request(source));
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
        Assert.Equal(SourceResponseOutcome.Ignored, _lab.Deliver(source, response));

        Assert.Equal(1, source.SamplesAccepted);
        Assert.Equal(1, source.Statistics.SampleCount);
        Assert.Equal(1, source.Reach);
        SourceReport report = source.Report(_lab.LocalNs);
        Assert.Equal(2, report.TotalRx);
        Assert.Equal(1, report.TotalValidRx);
        Assert.Equal("011 111 1111", report.NtpTests);
    }

    [Fact]
    public void AResponseWithAnotherModeIsIgnored()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        byte[] response = _lab.Serve(_lab.Request(source));
        response[0] = (byte)((response[0] & ~7) | (int)NtpMode.SymmetricPassive);
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.Ignored, _lab.Deliver(source, response));
        Assert.True(source.AwaitingResponse);
    }

    [Fact]
    public void AMalformedDatagramIsInvalidAndTheRequestStaysOutstanding()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        _lab.Request(source);

        Assert.Equal(SourceResponseOutcome.Invalid, _lab.Deliver(source, new byte[20]));
        Assert.True(source.AwaitingResponse);
    }

    [Fact]
    public void AnUnsynchronizedServerGivesNoSampleAndNoReach()
    {
        _lab.State = ReferenceState.Unsynchronized;
        NtpSource source = _lab.Source(SourceLab.Definition());

        Assert.Equal(SourceResponseOutcome.Invalid, _lab.Poll(source));

        Assert.False(source.AwaitingResponse);
        Assert.Equal(0, source.Reach);
        Assert.Null(source.LastSample);
        Assert.Equal("111 101 1111", source.Report(_lab.LocalNs).NtpTests);
        Assert.False(source.ToCandidate(_lab.LocalNs).Reachable);
    }

    [Fact]
    public void ARootDispersionOfSixteenSecondsIsInvalid()
    {
        _lab.State = _lab.State with { RootDispersion = NtpShortFormat.FromSeconds(16) };
        NtpSource source = _lab.Source(SourceLab.Definition());

        Assert.Equal(SourceResponseOutcome.Invalid, _lab.Poll(source));
        Assert.Equal("111 110 1111", source.Report(_lab.LocalNs).NtpTests);
    }

    [Fact]
    public void AResponseWithAnotherVersionIsInvalid()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        byte[] response = _lab.Serve(_lab.Request(source));
        response[0] = (byte)((response[0] & ~0x38) | (3 << 3));
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.Invalid, _lab.Deliver(source, response));
    }

    [Fact]
    public void ATransmitTimestampBeforeTheReceiveTimestampIsInvalid()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        byte[] response = _lab.Serve(_lab.Request(source));
        NtpTimestamp t2 = NtpTimestamp.Read(response.AsSpan(32));
        (t2 + (-NtpTimestamp.SecondsToFixed(0.001))).Write(response.AsSpan(40));
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.Invalid, _lab.Deliver(source, response));
        Assert.Equal("110 111 1111", source.Report(_lab.LocalNs).NtpTests);
    }

    [Fact]
    public void AResponseSlowerThanMaxDelayIsFilteredButCountsAsReachable()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(maxDelay: 0.030));

        Assert.Equal(SourceResponseOutcome.Filtered, _lab.Poll(source, outbound: 0.020, inbound: 0.020));
        Assert.Equal(1, source.Reach);
        Assert.Equal(0, source.Statistics.SampleCount);
        Assert.Null(source.LastSample);
        Assert.Equal("111 111 0111", source.Report(_lab.LocalNs).NtpTests);

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source, outbound: 0.010, inbound: 0.010));
        Assert.Equal(1, source.Statistics.SampleCount);
    }

    [Fact]
    public void SymmetricKeyResponsesAreAcceptedWithTheKey()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 21), new SymmetricKeyAuthenticator(_lab.Key(21)));

        byte[] request = _lab.Request(source);
        Assert.Equal(NtpPacketHeader.Size + 4 + 16, request.Length);
        byte[] response = _lab.Serve(request);
        Assert.Equal(ServerOutcome.RespondedAuthenticated, _lab.LastServerOutcome);
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
        SourceReport report = source.Report(_lab.LocalNs);
        Assert.Equal(SourceAuthentication.SymmetricKey, report.Authentication);
        Assert.Equal(21u, report.KeyId);
        Assert.Equal("AES128", report.KeyType);
        Assert.Equal(128, report.KeyBits);
        Assert.True(report.LastResponseAuthenticated);
        Assert.True(source.ToCandidate(_lab.LocalNs).IsAuthenticated);
    }

    [Fact]
    public void ABadMacFailsAuthenticationAndTheGenuineResponseIsStillAccepted()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 11), new SymmetricKeyAuthenticator(_lab.Key(11)));
        byte[] response = _lab.Serve(_lab.Request(source));
        byte[] altered = (byte[])response.Clone();
        altered[^1] ^= 0x80;
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, altered));
        Assert.True(source.AwaitingResponse);
        Assert.Equal(0, source.Reach);
        SourceReport report = source.Report(_lab.LocalNs);
        Assert.Equal(1, report.AuthenticationFailures);
        Assert.Contains("does not verify with key 11", report.LastAuthenticationError);
        Assert.Equal("111 011 1111", report.NtpTests);

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
    }

    [Fact]
    public void AResponseWithoutMacToASymmetricKeySourceFailsAuthentication()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 11), new SymmetricKeyAuthenticator(_lab.Key(11)));
        byte[] response = _lab.Serve(_lab.Request(source));
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, response.AsSpan(0, NtpPacketHeader.Size)));
        Assert.Contains("without a MAC", source.Report(_lab.LocalNs).LastAuthenticationError);
    }

    [Fact]
    public void AKeyTheServerDoesNotShareGetsACryptoNakThatFailsAuthentication()
    {
        using var wrong = new Tempus.Auth.SymmetricKey(11, Tempus.Auth.MacAlgorithm.Sha1, new byte[20], "test");
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 11), new SymmetricKeyAuthenticator(wrong));
        byte[] response = _lab.Serve(_lab.Request(source));
        Assert.Equal(ServerOutcome.RespondedCryptoNak, _lab.LastServerOutcome);
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, response));
        Assert.Contains("crypto-NAK", source.Report(_lab.LocalNs).LastAuthenticationError);
        Assert.True(source.AwaitingResponse);
    }

    [Fact]
    public void AnUnauthenticatedKissToASymmetricKeySourceIsNotObeyed()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 11), new SymmetricKeyAuthenticator(_lab.Key(11)));
        byte[] request = _lab.Request(source);

        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, _lab.Kiss(request, KissCode.Deny, 6)));
        Assert.False(source.Stopped);
    }

    [Theory]
    [MemberData(nameof(NtsTestSessions.Algorithms), MemberType = typeof(NtsTestSessions))]
    public void NtsResponsesAreAcceptedAndRefillTheCookies(NtsAeadAlgorithm algorithm)
    {
        using var nts = new NtsAuthenticator();
        int changes = 0;
        nts.SessionChanged += _ => changes++;
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, algorithm, cookies: 3));
        NtpSource source = _lab.Source(SourceLab.Definition(nts: true), nts);

        byte[] request = _lab.Request(source);
        Assert.Equal(2, nts.CookieCount);
        byte[] response = _lab.Serve(request);
        Assert.Equal(ServerOutcome.RespondedNts, _lab.LastServerOutcome);
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));

        // RFC 8915 §5.7: the request asked for enough cookies to hold eight again.
        Assert.Equal(NtsAuthenticator.TargetCookieCount, nts.CookieCount);
        Assert.Equal(3, changes);
        SourceReport report = source.Report(_lab.LocalNs);
        Assert.Equal(SourceAuthentication.Nts, report.Authentication);
        Assert.Equal(8, report.NtsCookies);
        Assert.Equal(NtsServerKeyRing.GetCookieLength(algorithm), report.NtsCookieLength);
        Assert.Equal(NtsAead.GetKeyLength(algorithm) * 8, report.KeyBits);
        Assert.NotEmpty(report.KeyType);
        Assert.True(report.LastResponseAuthenticated);
        Assert.Equal(0, report.NtsNaks);
    }

    [Fact]
    public void AnNtsResponseWithAnotherUniqueIdentifierFailsAuthentication()
    {
        using var nts = new NtsAuthenticator();
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac256));
        NtpSource source = _lab.Source(SourceLab.Definition(nts: true), nts);
        byte[] response = _lab.Serve(_lab.Request(source));
        byte[] altered = (byte[])response.Clone();

        // The Unique Identifier's body starts after the 48-byte header and its 4-byte field header.
        altered[NtpPacketHeader.Size + 4] ^= 1;
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, altered));
        Assert.Contains("Unique Identifier", source.Report(_lab.LocalNs).LastAuthenticationError);
        Assert.True(source.AwaitingResponse);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
    }

    [Fact]
    public void AnUnprotectedResponseToAnNtsRequestFailsAuthentication()
    {
        using var nts = new NtsAuthenticator();
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac256));
        NtpSource source = _lab.Source(SourceLab.Definition(nts: true), nts);
        byte[] request = _lab.Request(source);
        byte[] response = _lab.Serve(request);
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, response.AsSpan(0, NtpPacketHeader.Size)));

        // RFC 8915 §5.7: an unprotected kiss-o'-death is not ours to obey either.
        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, _lab.Kiss(request, KissCode.Rate, 10)));
        Assert.Equal(4, source.Poll);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
    }

    [Fact]
    public void AnNtsNakDropsTheSessionAndAsksForAKeyExchange()
    {
        using var otherRing = NtsServerKeyRing.CreateEphemeral(_lab.ServerClock, 604800);
        using var nts = new NtsAuthenticator();
        NtsAuthenticator? changed = null;
        nts.SessionChanged += a => changed = a;
        nts.SetSession(NtsTestSessions.Create(otherRing, NtsAeadAlgorithm.AesSivCmac256));
        NtpSource source = _lab.Source(SourceLab.Definition(nts: true), nts);
        Assert.False(nts.NeedsKeyExchange);

        byte[] response = _lab.Serve(_lab.Request(source));
        Assert.Equal(ServerOutcome.RespondedNtsNak, _lab.LastServerOutcome);
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.NtsNak, _lab.Deliver(source, response));
        Assert.True(nts.NeedsKeyExchange);
        Assert.False(nts.CanSend);
        Assert.Null(nts.Session);
        Assert.Same(nts, changed);
        Assert.Equal(1, nts.NaksReceived);
        Assert.Equal("NTSN", source.LastKissCode);
        Assert.Equal(1, source.Report(_lab.LocalNs).NtsNaks);

        // Nothing can be sent until the driver has run NTS-KE and installed the new session.
        _lab.AdvanceToNextPoll(source);
        Assert.Equal(0, source.BuildRequest(new byte[NtpSource.MinRequestBufferLength], _lab.LocalNs));
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac256));
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
    }

    [Fact]
    public void AnNtsSourceThatCannotSendMissesItsPollsAndBecomesUnreachable()
    {
        // NTS-KE keeps failing after a NAK: the source must not stay "reachable" and steer with ageing samples.
        using var nts = new NtsAuthenticator();
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac256));
        NtpSource source = _lab.Source(SourceLab.Definition(nts: true, minPoll: 4, maxPoll: 4), nts);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
            _lab.AdvanceToNextPoll(source);
        }

        Assert.Equal(0b111, source.Reach);
        using var otherRing = NtsServerKeyRing.CreateEphemeral(_lab.ServerClock, 604800);
        nts.SetSession(NtsTestSessions.Create(otherRing, NtsAeadAlgorithm.AesSivCmac256));
        Assert.Equal(SourceResponseOutcome.NtsNak, _lab.Deliver(source, _lab.Serve(_lab.Request(source))));
        Assert.False(nts.CanSend);

        var buffer = new byte[NtpSource.MinRequestBufferLength];
        for (int poll = 0; poll < 8; poll++)
        {
            _lab.AdvanceToNextPoll(source);
            _lab.Advance(16);
            // Asked again and again within one interval, it misses that poll once.
            Assert.Equal(0, source.BuildRequest(buffer, _lab.LocalNs));
            Assert.Equal(0, source.BuildRequest(buffer, _lab.LocalNs + 1_000_000));
        }

        Assert.Equal(0, source.Reach);
        Assert.False(source.ToCandidate(_lab.LocalNs).Reachable);

        // The session arrives: the request goes out at once, without waiting for another interval.
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac256));
        Assert.True(source.BuildRequest(buffer, _lab.LocalNs) > 0);
    }

    [Fact]
    public void AStepMovesThePollScheduleWithTheClock()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 6, maxPoll: 6));
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        long next = source.NextPollNs;

        // The clock was a day ahead and is stepped back: the next poll is still 64 s away, not a day and 64 s.
        source.OnClockCorrected(_lab.LocalNs, 0, -86400);

        Assert.Equal(next - 86_400_000_000_000, source.NextPollNs);
    }

    [Fact]
    public void TheReachRegisterShiftsOncePerPoll()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        }

        Assert.Equal(0b111, source.Reach);
        _lab.Silence(source);
        _lab.Silence(source);
        Assert.Equal(0b11100, source.Reach);
        Assert.True(source.ToCandidate(_lab.LocalNs).Reachable);

        for (int i = 0; i < 6; i++)
        {
            _lab.Silence(source);
        }

        Assert.Equal(0, source.Reach);
        Assert.False(source.ToCandidate(_lab.LocalNs).Reachable);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        Assert.Equal(1, source.Reach);
    }

    [Fact]
    public void ARequestIsTimedOutWhenTheNextIsBuiltPastTheDeadline()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4));
        _lab.Request(source);
        Assert.Equal(TimeSpan.FromSeconds(8), source.ResponseTimeout);

        _lab.AdvanceToNextPoll(source);
        _lab.Request(source);

        Assert.Equal(0, source.Reach);
        Assert.Equal(2, source.Report(_lab.LocalNs).TotalTx);
    }

    [Fact]
    public void NothingIsSentBeforeThePollIsDueWhileUnresolvedOfflineOrWithATooSmallBuffer()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        byte[] buffer = new byte[NtpSource.MinRequestBufferLength];

        Assert.Equal(0, source.BuildRequest(buffer, source.NextPollNs - 1));

        source.IsOnline = false;
        Assert.Equal(0, source.BuildRequest(buffer, source.NextPollNs));
        source.IsOnline = true;

        source.Address = null;
        Assert.Equal(0, source.BuildRequest(buffer, source.NextPollNs));
        Assert.Equal(SourceActivity.UnresolvedAddress, source.Report(_lab.LocalNs).Activity);

        Assert.Throws<ArgumentException>(() => source.BuildRequest(new byte[100], source.NextPollNs));
    }

    [Fact]
    public void ThePollRisesAfterSteadySamplesAndFallsOnSilenceWithinMinpollAndMaxpoll()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 6));
        var seen = new List<int>();
        for (int i = 0; i < 16; i++)
        {
            Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
            seen.Add(source.Poll);
        }

        Assert.Equal([4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6], seen);

        // Requests go out 2^poll s apart.
        long before = source.NextPollNs;
        _lab.Poll(source);
        Assert.Equal(64_000_000_000L, source.NextPollNs - before);

        seen.Clear();
        for (int i = 0; i < 5; i++)
        {
            _lab.Silence(source);
            seen.Add(source.Poll);
        }

        Assert.Equal([6, 5, 4, 4, 4], seen);
    }

    [Fact]
    public void AJitteryPathLowersThePoll()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 6, maxDelay: 0.1));
        for (int i = 0; i < 8; i++)
        {
            _lab.Poll(source);
        }

        Assert.Equal(6, source.Poll);
        Assert.Equal(SourceResponseOutcome.Filtered, _lab.Poll(source, outbound: 0.2, inbound: 0.01));
        Assert.Equal(5, source.Poll);
    }

    [Fact]
    public void IBurstSendsTheFirstFourRequestsTwoSecondsApart()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 6, maxPoll: 10, iburst: true));
        Assert.True(source.InBurst);
        Assert.Equal(SourceActivity.BurstOnline, source.Report(_lab.LocalNs).Activity);
        var sends = new List<long>();
        for (int i = 0; i < 5; i++)
        {
            _lab.AdvanceToNextPoll(source);
            sends.Add(_lab.LocalNs);
            byte[] response = _lab.Serve(_lab.Request(source));
            if (i < 4)
            {
                Assert.Equal(TimeSpan.FromSeconds(2), source.ResponseTimeout);
            }

            _lab.Advance(0.02);
            Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
        }

        Assert.Equal(2_000_000_000L, sends[1] - sends[0]);
        Assert.Equal(2_000_000_000L, sends[2] - sends[1]);
        Assert.Equal(2_000_000_000L, sends[3] - sends[2]);
        Assert.Equal(64_000_000_000L, sends[4] - sends[3]);
        Assert.False(source.InBurst);
        Assert.Equal(6, source.Poll);
        Assert.Equal(5, source.Statistics.SampleCount);
    }

    [Fact]
    public void IBurstKeepsItsSpacingWhenRequestsGoUnanswered()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 6, maxPoll: 10, iburst: true));
        long start = _lab.LocalNs;
        for (int i = 0; i < 4; i++)
        {
            _lab.Silence(source);
        }

        Assert.False(source.InBurst);
        Assert.Equal(start + 6_000_000_000L + 64_000_000_000L, source.NextPollNs);
    }

    [Fact]
    public void KissRateRaisesThePollToAtLeastTheServersAndKeepsThatFloor()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 10, iburst: true));
        byte[] request = _lab.Request(source);
        _lab.Advance(0.02);

        Assert.Equal(SourceResponseOutcome.KissRate, _lab.Deliver(source, _lab.Kiss(request, KissCode.Rate, 7)));
        Assert.Equal(7, source.Poll);
        Assert.False(source.InBurst);
        Assert.False(source.Stopped);
        Assert.Equal("RATE", source.LastKissCode);
        Assert.Equal(0, source.Reach);

        // A kiss with a lower poll still at least doubles the interval.
        _lab.AdvanceToNextPoll(source);
        request = _lab.Request(source);
        Assert.Equal(SourceResponseOutcome.KissRate, _lab.Deliver(source, _lab.Kiss(request, KissCode.Rate, 3)));
        Assert.Equal(8, source.Poll);

        // Silence never brings it below the server's poll again.
        for (int i = 0; i < 4; i++)
        {
            _lab.Silence(source);
        }

        Assert.Equal(7, source.Poll);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
    }

    [Theory]
    [InlineData(KissCode.Deny, "DENY", SourceResponseOutcome.KissDeny)]
    [InlineData(KissCode.Rstr, "RSTR", SourceResponseOutcome.KissRstr)]
    public void DenyAndRstrStopTheSource(uint code, string text, SourceResponseOutcome expected)
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        _lab.AdvanceToNextPoll(source);
        byte[] request = _lab.Request(source);

        Assert.Equal(expected, _lab.Deliver(source, _lab.Kiss(request, code, 6)));

        Assert.True(source.Stopped);
        Assert.Contains(text, source.StopReason);
        _lab.Advance(3600);
        Assert.Equal(0, source.BuildRequest(new byte[NtpSource.MinRequestBufferLength], _lab.LocalNs));
        Assert.False(source.ToCandidate(_lab.LocalNs).Reachable);
        SourceReport report = source.Report(_lab.LocalNs);
        Assert.Equal(text, report.LastKissCode);
        Assert.Contains(text, report.StatusReason);
        Assert.Equal(SourceActivity.Offline, report.Activity);

        source.Reset();
        Assert.False(source.Stopped);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
    }

    [Fact]
    public void AnUnknownKissCodeChangesNothingButTheReport()
    {
        NtpSource source = _lab.Source(SourceLab.Definition());
        byte[] request = _lab.Request(source);

        Assert.Equal(SourceResponseOutcome.KissOther, _lab.Deliver(source, _lab.Kiss(request, ReferenceId.FromAscii("XYZZ"), 6)));
        Assert.False(source.Stopped);
        Assert.Equal(4, source.Poll);
        Assert.Equal("XYZZ", source.LastKissCode);
    }

    [Fact]
    public void TheCandidateCarriesTheEstimatedOffsetAndAnHonestRootDistance()
    {
        _lab.ServerError = 0.100;
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4) with { SelectOptions = SourceSelectOptions.Prefer });

        SelectionCandidate none = source.ToCandidate(_lab.LocalNs);
        Assert.False(none.Reachable);

        _lab.Poll(source);
        SelectionCandidate one = source.ToCandidate(_lab.LocalNs);
        Assert.True(one.Reachable);
        Assert.Equal(0.100, one.Offset, 6);

        for (int i = 0; i < 5; i++)
        {
            _lab.Poll(source);
        }

        SelectionCandidate c = source.ToCandidate(_lab.LocalNs);
        Assert.Equal("127.0.0.1", c.Name);
        Assert.True(c.Reachable);
        Assert.Equal(2, c.Stratum);
        Assert.Equal(LeapIndicator.NoWarning, c.Leap);
        Assert.Equal(SourceSelectOptions.Prefer, c.Options);
        Assert.Equal(SourceAuthentication.None, c.Authentication);
        Assert.Equal(0.100, c.Offset, 6);
        Assert.Equal(0x7F000001u, c.ReferenceId);
        Assert.Equal(0x0A000001u, c.UpstreamReferenceId);

        // λ ≥ (root delay + delay)/2 + root dispersion = (0.010 + 0.020)/2 + 0.020, and not much more on a quiet path.
        Assert.InRange(c.RootDistance, 0.0345, 0.036);
        Assert.Equal(0.030, c.RootDelay, 4);

        // Dispersion grows with age at PHI.
        _lab.Advance(1000);
        Assert.InRange(source.ToCandidate(_lab.LocalNs).RootDistance - c.RootDistance, 0.9 * 15e-3, 1.1 * 15e-3 + 1e-3);
    }

    [Fact]
    public void IPv6ReferenceIdsAreTheFirstFourBytesOfTheMd5OfTheAddress()
    {
        IPAddress address = IPAddress.Parse("2001:db8::1");
#pragma warning disable CA5351 // RFC 5905 §7.3 names MD5 for this, as an identifier, not for security.
        byte[] md5 = MD5.HashData(address.GetAddressBytes());
#pragma warning restore CA5351

        Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(md5), NtpSource.ComputeReferenceId(address));
        Assert.Equal(0xC0000201u, NtpSource.ComputeReferenceId(IPAddress.Parse("192.0.2.1")));
        Assert.Equal(0xC0000201u, NtpSource.ComputeReferenceId(IPAddress.Parse("::ffff:192.0.2.1")));
    }

    [Fact]
    public void AClockCorrectionShiftsTheKeptSamplesSoTheRegressionStaysConsistent()
    {
        _lab.LocalError = -0.250;
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4));
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        }

        Assert.Equal(0.250, source.Statistics.EstimatedOffsetAt(_lab.LocalNs), 6);

        // The local clock is stepped forward by the 0.25 s it was behind.
        long when = _lab.LocalNs;
        _lab.LocalError = 0;
        source.OnClockCorrected(when, 0, 0.250);

        Assert.Equal(0, source.Statistics.EstimatedOffsetAt(_lab.LocalNs), 6);
        Assert.Equal(0, source.ToCandidate(_lab.LocalNs).Offset, 6);
        SourceReport report = source.Report(_lab.LocalNs);
        Assert.Equal(0.250, report.MeasuredOffset, 6);
        Assert.Equal(0, report.AdjustedOffset, 6);

        // New samples continue the same line: nothing is discarded and the frequency stays zero.
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        Assert.Equal(6, source.Statistics.SampleCount);
        Assert.Equal(0, source.Statistics.FrequencyPpm, 3);
        Assert.Equal(0, source.Statistics.OffsetSeconds, 6);
    }

    [Fact]
    public void AFrequencyCorrectionTiltsTheKeptSamples()
    {
        // The local clock runs 10 ppm slow: the offset grows by 10 µs per second.
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4));
        for (int i = 0; i < 6; i++)
        {
            _lab.Poll(source);
            _lab.LocalError -= 16 * 10e-6;
        }

        Assert.Equal(10, source.Statistics.FrequencyPpm, 1);

        source.OnClockCorrected(_lab.LocalNs, 10, 0);

        Assert.Equal(0, source.Statistics.FrequencyPpm, 1);
    }

    [Fact]
    public void TheReportFillsTheViews()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 6) with { Kind = SourceKind.Pool, Host = "pool.example" });
        for (int i = 0; i < 4; i++)
        {
            _lab.Poll(source);
        }

        source.OnSelected(new SourceSelection("127.0.0.1", SourceSelectionStatus.Selected, "the system peer"));
        _lab.Advance(3);
        SourceReport r = source.Report(_lab.LocalNs);

        Assert.Equal("127.0.0.1", r.Name);
        Assert.Equal("127.0.0.1", r.Address);
        Assert.Equal(123, r.Port);
        Assert.Equal("pool.example", r.Pool);
        Assert.Equal(SourceActivity.Online, r.Activity);
        Assert.Equal(SourceSelectionStatus.Selected, r.Status);
        Assert.Equal("the system peer", r.StatusReason);
        Assert.Equal(2, r.Stratum);
        Assert.Equal(5, r.Poll);
        Assert.Equal(0b1111, r.Reach);
        Assert.Equal(3.0, r.LastRxAgo, 3);
        Assert.Equal(4, r.SampleCount);
        Assert.True(r.SpanSeconds > 40);
        Assert.True(r.ErrorBound > 0.010);
        Assert.True(r.IntervalLow < r.IntervalHigh);
        Assert.Equal(r.IntervalHigh - r.IntervalLow, 2 * r.RootDistance, 9);
        Assert.Equal(SourceAuthentication.None, r.Authentication);
        Assert.Null(r.KeyId);
        Assert.Equal(LeapIndicator.NoWarning, r.Leap);
        Assert.Equal(4, r.Version);
        Assert.Equal(4, r.Mode);
        Assert.Equal(-23, r.Precision);
        Assert.Equal(0.010, r.SourceRootDelay, 4);
        Assert.Equal(0.020, r.SourceRootDispersion, 4);
        Assert.Equal(0x0A000001u, r.SourceReferenceId);
        Assert.NotEqual(0, r.SourceReferenceTimeUnixNs);
        Assert.Equal(0.020, r.PeerDelay, 6);
        Assert.True(r.PeerDispersion > 0);
        Assert.Equal(0.0001, r.ResponseTime, 6);
        Assert.Equal("111 111 1111", r.NtpTests);
        Assert.False(r.LastResponseAuthenticated);
        Assert.True(r.KernelRxTimestamp);
        Assert.Equal(4, r.TotalTx);
        Assert.Equal(4, r.TotalRx);
        Assert.Equal(4, r.TotalValidRx);
        Assert.Equal("", r.LastKissCode);
    }

    [Fact]
    public void ANewAddressForgetsTheOldServer()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(iburst: true));
        _lab.Poll(source);
        _lab.Poll(source);

        source.Address = new IPEndPoint(IPAddress.Parse("127.0.0.2"), 123);

        Assert.Equal(0, source.Reach);
        Assert.Equal(0, source.Statistics.SampleCount);
        Assert.Null(source.LastSample);
        Assert.True(source.InBurst);
        Assert.Equal(0x7F000002u, source.ReferenceId);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
    }

    [Fact]
    public void TheSampleAcceptedEventFiresOncePerAcceptedResponse()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(maxDelay: 0.05));
        int fired = 0;
        source.SampleAccepted += s => fired++;

        _lab.Poll(source);
        _lab.Poll(source, outbound: 0.1);

        Assert.Equal(1, fired);
    }

    [Fact]
    public void APollAllocatesNothingForPlainAndSymmetricKeySources()
    {
        NtpSource plain = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4));
        NtpSource keyed = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4, keyId: 21), new SymmetricKeyAuthenticator(_lab.Key(21)));
        byte[] request = new byte[NtpSource.MinRequestBufferLength];
        byte[] response = new byte[2048];
        foreach (NtpSource source in new[] { plain, keyed })
        {
            // The round includes the lab's server, whose path allocates nothing either (NtpServerEngineTests).
            PollAllocationFree(source, request, response, 20);
            AllocationAssert.NothingPerRound(() => PollAllocationFree(source, request, response, 20), $"20 polls of a {source.Authenticator.Kind} source");
        }
    }

    private void PollAllocationFree(NtpSource source, byte[] request, byte[] response, int polls)
    {
        for (int i = 0; i < polls; i++)
        {
            _lab.AdvanceToNextPoll(source);
            int length = source.BuildRequest(request, _lab.LocalNs);
            int n = _lab.ServeInto(request.AsSpan(0, length), response);
            _lab.Advance(0.02);
            SourceResponseOutcome outcome = source.ProcessResponse(response.AsSpan(0, n), _lab.Local.NtpNow, _lab.LocalNs);
            if (outcome != SourceResponseOutcome.Accepted)
            {
                Assert.Fail($"poll {i}: {outcome}");
            }
        }
    }

    [Fact]
    public void AnNtsPollAllocatesNothingOnceTheCookiesCirculate()
    {
        using var nts = new NtsAuthenticator();
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac256));
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4, nts: true), nts);
        byte[] request = new byte[NtpSource.MinRequestBufferLength];
        byte[] response = new byte[2048];
        PollAllocationFree(source, request, response, 20);

        // Each response brings one cookie back for the one spent, into the spent one's array.
        AllocationAssert.NothingPerRound(() => PollAllocationFree(source, request, response, 20), "20 NTS polls");
        Assert.Equal(NtsAuthenticator.TargetCookieCount, nts.CookieCount);
    }

    [Fact]
    public void NtsRequestsStayWithin1280BytesAndAskForTheMissingCookies()
    {
        using var nts = new NtsAuthenticator();
        nts.SetSession(NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac512, cookies: 1));
        NtpSource source = _lab.Source(SourceLab.Definition(nts: true), nts);

        byte[] request = _lab.Request(source);

        Assert.InRange(request.Length, NtpPacketHeader.Size + 1, NtsNtpRequest.MaxRequestLength);
        Assert.False(nts.CanSend);
        Assert.True(nts.NeedsKeyExchange);
        NtpPacketLayout layout = NtpPacketLayout.Parse(request);
        Assert.Equal(NtsParseStatus.Ok, NtsPacketReader.TryRead(layout, out NtsPacketInfo info));
        Assert.True(info.CookiePlaceholderCount > 0);
        Assert.True(info.HasAuthenticator);
        byte[] response = _lab.Serve(request);
        _lab.Advance(0.02);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
        Assert.Equal(info.CookiePlaceholderCount + 1, nts.CookieCount);
    }

    [Fact]
    public void KeyExchangeBookkeepingShowsInTheReport()
    {
        using var nts = new NtsAuthenticator(TimeSpan.FromHours(1));
        NtpSource source = _lab.Source(SourceLab.Definition(nts: true), nts);
        Assert.Equal(0, source.BuildRequest(new byte[NtpSource.MinRequestBufferLength], _lab.LocalNs));

        nts.RecordKeyExchangeFailure("NTS-KE to 127.0.0.1:4460 timed out after 5 s");
        nts.RecordKeyExchangeFailure("NTS-KE to 127.0.0.1:4460 timed out after 5 s");
        SourceReport failed = source.Report(_lab.LocalNs);
        Assert.Equal(2, failed.NtsKeAttempts);
        Assert.Equal(-1, failed.NtsKeAgo);
        Assert.Contains("timed out", failed.LastAuthenticationError);

        NtsSession session = NtsTestSessions.Create(_lab.NtsRing, NtsAeadAlgorithm.AesSivCmac256);
        nts.SetSession(session);
        Assert.Equal(0, source.Report(_lab.LocalNs).NtsKeAttempts);
        Assert.False(nts.IsRefreshDue(session.EstablishedUnixNanoseconds + 3_599_000_000_000));
        Assert.True(nts.IsRefreshDue(session.EstablishedUnixNanoseconds + 3_601_000_000_000));
    }

    [Fact]
    public void AnEarlyOffsetChangeIsNotMistakenForASpike()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(iburst: true));

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source, outbound: 0.010, inbound: 0.010));

        // Lower delay and 0.5 ms away: with one sample so far there is no jitter to judge it by.
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source, outbound: 0.009, inbound: 0.008));
        Assert.Equal(2, source.Statistics.SampleCount);
    }

    [Fact]
    public void ALowDelaySampleThatJumpsIsAPopcornSpike()
    {
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4));
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source, outbound: 0.010 + (i % 2 * 0.0002), inbound: 0.010 + (i % 2 * 0.0002)));
        }

        // RFC 5905 A.5.2: the best (lowest-delay) sample jumps by far more than 3 × the jitter: dropped.
        Assert.Equal(SourceResponseOutcome.Filtered, _lab.Poll(source, outbound: 0.002, inbound: 0.006));
        Assert.Equal(8, source.Statistics.SampleCount);
        Assert.Equal(1, source.Reach & 1);

        // Higher-delay samples go on into the statistics, where the regression weighs them by their distance.
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
    }
}
