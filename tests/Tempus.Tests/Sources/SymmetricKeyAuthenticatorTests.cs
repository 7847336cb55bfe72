using Tempus.Auth;
using Tempus.Protocol;
using Tempus.Sources;

namespace Tempus.Tests.Sources;

/// <summary>
/// Swapping the key of a symmetric-key source after a key-file reload: the next request is signed with the new key, a
/// response to a request sent before is checked with the key it was signed with, and a withdrawn key stops the source
/// from sending at all (never an unauthenticated request).
/// </summary>
public sealed class SymmetricKeyAuthenticatorTests : IDisposable
{
    private static readonly byte[] s_otherSecret = Convert.FromHexString("F0E0D0C0B0A090807060504030201000");

    private readonly SourceLab _lab = new();

    public void Dispose() => _lab.Dispose();

    private static bool SignedWith(ReadOnlySpan<byte> request, SymmetricKey key)
    {
        Assert.Equal(NtpParseStatus.Ok, NtpPacketLayout.TryParse(request, out NtpPacketLayout layout));
        Assert.True(layout.HasMac);
        Assert.Equal(key.Id, layout.MacKeyId);
        return key.VerifyDigest(layout.AuthenticatedData, layout.MacDigest);
    }

    [Fact]
    public void AResponseToARequestSentBeforeTheSwapVerifiesWithTheOldKeyAndTheNextRequestUsesTheNewOne()
    {
        SymmetricKey old = _lab.Key(21);
        using var replacement = new SymmetricKey(21, MacAlgorithm.Aes128Cmac, s_otherSecret, "reloaded.keys:1");
        var authenticator = new SymmetricKeyAuthenticator(old);
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 21), authenticator);

        _lab.AdvanceToNextPoll(source);
        byte[] request = _lab.Request(source);
        Assert.True(SignedWith(request, old));
        byte[] response = _lab.Serve(request);
        authenticator.ReplaceKey(replacement);
        _lab.Advance(0.03);

        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Deliver(source, response));
        Assert.Same(replacement, authenticator.Key);

        _lab.AdvanceToNextPoll(source);
        byte[] next = _lab.Request(source);
        Assert.True(SignedWith(next, replacement));
        Assert.False(SignedWith(next, old));
    }

    [Fact]
    public void AResponseSignedWithAKeyWhoseRingWasRetiredAndWipedIsRejectedNotThrown()
    {
        // The source's own copy of key 21 (the lab server's secret), from a ring a later reload retires.
        var retired = new SymmetricKey(21, MacAlgorithm.Aes128Cmac, Convert.FromHexString("000102030405060708090A0B0C0D0E0F"), "old.keys:1");
        using var replacement = new SymmetricKey(21, MacAlgorithm.Aes128Cmac, Convert.FromHexString("000102030405060708090A0B0C0D0E0F"), "new.keys:1");
        var authenticator = new SymmetricKeyAuthenticator(retired);
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 21), authenticator);
        _lab.AdvanceToNextPoll(source);
        byte[] response = _lab.Serve(_lab.Request(source));

        // The reload swaps the key, and the retired ring is wiped before this late answer to the old request comes in.
        authenticator.ReplaceKey(replacement);
        retired.Dispose();
        Assert.True(retired.IsDisposed);
        _lab.Advance(0.03);

        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, response));
        Assert.Contains("from before a key file reload, too late to check", source.Report(_lab.LocalNs).LastAuthenticationError, StringComparison.Ordinal);

        // The next poll is signed with the new key and answered.
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
    }

    [Fact]
    public void AfterTheSwapAResponseSignedWithTheOldKeyToANewRequestFails()
    {
        using var replacement = new SymmetricKey(21, MacAlgorithm.Aes128Cmac, s_otherSecret, "reloaded.keys:1");
        var authenticator = new SymmetricKeyAuthenticator(_lab.Key(21));
        NtpSource source = _lab.Source(SourceLab.Definition(keyId: 21), authenticator);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));

        authenticator.ReplaceKey(replacement);

        // The lab server still has the old secret: it cannot verify the new MAC and answers with a crypto-NAK.
        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Poll(source));
        Assert.Contains("crypto-NAK", source.Report(_lab.LocalNs).LastAuthenticationError, StringComparison.Ordinal);
    }

    [Fact]
    public void AWithdrawnKeySendsNothingRejectsTheResponseInFlightAndTheSourceBecomesUnreachable()
    {
        var authenticator = new SymmetricKeyAuthenticator(_lab.Key(21));
        NtpSource source = _lab.Source(SourceLab.Definition(minPoll: 4, maxPoll: 4, keyId: 21), authenticator);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        }

        _lab.AdvanceToNextPoll(source);
        byte[] response = _lab.Serve(_lab.Request(source));
        authenticator.RemoveKey("key 21 is not in the key file /etc/tempus.keys");
        _lab.Advance(0.03);

        Assert.False(authenticator.CanSend);
        Assert.True(authenticator.IsKeyMissing);
        Assert.Equal(SourceResponseOutcome.AuthenticationFailed, _lab.Deliver(source, response));
        string error = source.Report(_lab.LocalNs).LastAuthenticationError;
        Assert.Contains("key 21 was withdrawn", error, StringComparison.Ordinal);
        Assert.Contains("/etc/tempus.keys", error, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => authenticator.WriteRequest(new byte[NtpSource.MinRequestBufferLength], default));

        byte[] buffer = new byte[NtpSource.MinRequestBufferLength];
        long sent = source.TotalTx;
        for (int i = 0; i < 10; i++)
        {
            _lab.Advance(16);
            Assert.Equal(0, source.BuildRequest(buffer, _lab.LocalNs));
        }

        Assert.Equal(sent, source.TotalTx);
        Assert.Equal(0, source.Reach);

        authenticator.ReplaceKey(_lab.Key(21));
        Assert.True(authenticator.CanSend);
        Assert.Null(authenticator.KeyProblem);
        Assert.Equal(SourceResponseOutcome.Accepted, _lab.Poll(source));
        Assert.NotEqual(0, source.Reach);
    }

    [Fact]
    public void AKeyWithAnotherIdIsRefused()
    {
        var authenticator = new SymmetricKeyAuthenticator(_lab.Key(21));

        ArgumentException e = Assert.Throws<ArgumentException>(() => authenticator.ReplaceKey(_lab.Key(11)));

        Assert.Contains("uses key 21, not key 11", e.Message, StringComparison.Ordinal);
        Assert.Equal(21u, authenticator.KeyId);
    }
}
