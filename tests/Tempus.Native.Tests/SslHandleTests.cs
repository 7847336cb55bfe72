namespace Tempus.Native.Tests;

/// <summary>SafeHandle ownership of SSL_CTX, SSL and the memory BIOs SSL_set_bio hands over.</summary>
public sealed class SslHandleTests
{
    [Fact]
    public void MemoryBioQueuesBytesInOrder()
    {
        using SafeBioHandle bio = Interop.Crypto.CreateMemoryBio();
        Assert.Equal(0, Interop.Crypto.BioRead(bio, new byte[8]));

        Interop.Crypto.BioWrite(bio, [1, 2, 3]);
        Interop.Crypto.BioWrite(bio, [4, 5]);
        Assert.Equal(5, Interop.Crypto.BioPending(bio));

        byte[] buffer = new byte[4];
        Assert.Equal(4, Interop.Crypto.BioRead(bio, buffer));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, buffer);
        Assert.Equal(1, Interop.Crypto.BioRead(bio, buffer));
        Assert.Equal(5, buffer[0]);
        Assert.Equal(0, Interop.Crypto.BioRead(bio, buffer));
    }

    [Fact]
    public void SslOutlivesItsDisposedHandleUntilTheBiosAreReleased()
    {
        using SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: false);
        SafeSslHandle ssl = Interop.Ssl.SslCreate(ctx, isServer: false, new SslCallbackState(), out SafeBioHandle input, out SafeBioHandle output);

        // The BIOs belong to the SSL now; each keeps it alive, so disposing the SSL handle first is safe.
        ssl.Dispose();
        Assert.False(ssl.IsClosed);
        Interop.Crypto.BioWrite(input, [0x16, 0x03, 0x01]);
        Assert.Equal(3, Interop.Crypto.BioPending(input));
        input.Dispose();
        Assert.False(ssl.IsClosed);
        output.Dispose();

        // SSL_free ran (and freed both BIOs) when the last reference went.
        Assert.True(ssl.IsClosed);
    }

    [Fact]
    public void ContextOutlivesItsDisposedHandleWhileASessionUsesIt()
    {
        SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: false);
        using SafeSslHandle ssl = Interop.Ssl.SslCreate(ctx, isServer: false, new SslCallbackState(), out SafeBioHandle input, out SafeBioHandle output);
        ctx.Dispose();

        // A client handshake still runs: it writes a ClientHello into the output BIO and wants a reply.
        Assert.Equal(Interop.Ssl.SslStatus.WantRead, Interop.Ssl.SslDoHandshake(ssl, out OpenSslException? error));
        Assert.Null(error);
        Assert.True(Interop.Crypto.BioPending(output) > 0);
        input.Dispose();
        output.Dispose();
    }

    [Fact]
    public void ClientHelloOffersOnlyTls13()
    {
        using SafeSslContextHandle ctx = Interop.Ssl.SslCtxCreate(isServer: false);
        using SafeSslHandle ssl = Interop.Ssl.SslCreate(ctx, isServer: false, new SslCallbackState(), out SafeBioHandle input, out SafeBioHandle output);
        Interop.Ssl.SslDoHandshake(ssl, out _);
        byte[] hello = new byte[Interop.Crypto.BioPending(output)];
        Interop.Crypto.BioRead(output, hello);

        // RFC 8446 §4.2.1: a TLS 1.3-only ClientHello has supported_versions (43) = { 0x0304 } alone.
        byte[] onlyTls13 = [0x00, 0x2B, 0x00, 0x03, 0x02, 0x03, 0x04];
        Assert.True(hello.AsSpan().IndexOf(onlyTls13) > 0, "supported_versions should list TLS 1.3 only");
        input.Dispose();
        output.Dispose();
    }
}
