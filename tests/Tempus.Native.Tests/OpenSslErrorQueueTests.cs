namespace Tempus.Native.Tests;

/// <summary>The OpenSSL error queue is read into one exception carrying OpenSSL's own reason strings.</summary>
public sealed class OpenSslErrorQueueTests
{
    [Fact]
    public void LibSslIsSupportedOnThisMachine()
    {
        Assert.True(Interop.Ssl.IsSupported, Interop.Ssl.UnsupportedReason);
        Assert.Null(Interop.Ssl.UnsupportedReason);
    }

    [Fact]
    public void FailedCallDrainsTheQueueIntoOneExceptionWithReasons()
    {
        using SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: true);
        string missing = Path.Combine(Path.GetTempPath(), "tempus-" + Guid.NewGuid().ToString("N") + ".crt");

        OpenSslException ex = Assert.Throws<OpenSslException>(() => Interop.Ssl.SslCtxUseCertificateChainFile(ctx, missing));

        Assert.Equal("SSL_CTX_use_certificate_chain_file", ex.Operation);
        Assert.NotEmpty(ex.Errors);
        Assert.All(ex.Errors, e => Assert.StartsWith("error:", e.Text));
        Assert.Contains("No such file or directory", ex.Reasons);
        Assert.Contains("OpenSSL SSL_CTX_use_certificate_chain_file failed: error:", ex.Message);

        // Drained: nothing is left for the next caller on this thread.
        Assert.Empty(Interop.Crypto.CreateOpenSslError("nothing").Errors);
    }

    [Fact]
    public void StaleErrorsDoNotLeakIntoTheNextFailure()
    {
        using SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: true);
        string notAKey = Path.Combine(Path.GetTempPath(), "tempus-" + Guid.NewGuid().ToString("N") + ".key");
        File.WriteAllText(notAKey, "not PEM at all\n");
        try
        {
            Assert.Throws<OpenSslException>(() => Interop.Ssl.SslCtxUseCertificateChainFile(ctx, "/nonexistent/tempus.crt"));
            OpenSslException ex = Assert.Throws<OpenSslException>(() => Interop.Ssl.SslCtxLoadVerifyFile(ctx, notAKey));
            Assert.DoesNotContain(ex.Errors, e => e.Text.Contains("No such file", StringComparison.Ordinal));
            Assert.Equal("SSL_CTX_load_verify_file", ex.Operation);
        }
        finally
        {
            File.Delete(notAKey);
        }
    }

    [Theory]
    [InlineData(0x0A000086UL, 20, 134)] // SSL routines: certificate verify failed
    [InlineData(0x0A000460UL, 20, 1120)] // SSL routines: tlsv1 alert no application protocol
    [InlineData(0x80000002UL, 2, 2)] // system library: ENOENT
    public void ErrorCodesSplitIntoLibraryAndReason(ulong code, int library, int reason)
    {
        var error = new OpenSslError(code, string.Empty, string.Empty);
        Assert.Equal(library, error.Library);
        Assert.Equal(reason, error.ReasonCode);
    }

    [Fact]
    public void VerifyErrorStringsComeFromOpenSsl()
    {
        Assert.Equal("certificate has expired", Interop.Crypto.GetVerifyErrorString(Interop.Crypto.X509_V_ERR_CERT_HAS_EXPIRED));
        Assert.Equal("unable to get local issuer certificate", Interop.Crypto.GetVerifyErrorString(Interop.Crypto.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
        Assert.Equal("hostname mismatch", Interop.Crypto.GetVerifyErrorString(Interop.Crypto.X509_V_ERR_HOSTNAME_MISMATCH));
    }
}
