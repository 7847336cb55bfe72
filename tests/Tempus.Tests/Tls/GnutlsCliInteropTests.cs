using System.Diagnostics;
using Tempus.Tls;

namespace Tempus.Tests.Tls;

/// <summary>
/// The NTS-KE server side against a TLS client that is not ours: GnuTLS's gnutls-cli, on 127.0.0.1.
/// STYLE rule 29: a missing gnutls-cli fails the run with the command that installs it.
/// </summary>
public sealed class GnutlsCliInteropTests : IClassFixture<TestPki>
{
    private static readonly TimeSpan s_testLimit = TimeSpan.FromSeconds(20);
    private readonly TestPki _pki;

    public GnutlsCliInteropTests(TestPki pki) => _pki = pki;

    [Fact]
    public async Task GnutlsClientOfferingNtsKeAlpnCompletesTheHandshake()
    {
        using var server = new TlsServerContext(new TlsServerOptions { Certificates = [_pki.Localhost] });
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);

        (int exitCode, string output) = await RunGnutlsCliAsync(loopback.Port, "--alpn=ntske/1");

        using TlsSession session = await serverTask.WaitAsync(s_testLimit);
        Assert.Equal("ntske/1", session.NegotiatedAlpn);
        Assert.Equal("localhost", session.ServerName);
        Assert.True(exitCode == 0, $"gnutls-cli exited with {exitCode}:\n{output}");
        Assert.Contains("Handshake was completed", output);
        Assert.Contains("ntske/1", output);
    }

    [Fact]
    public async Task GnutlsClientWithoutAlpnIsRefused()
    {
        using var server = new TlsServerContext(new TlsServerOptions { Certificates = [_pki.Localhost] });
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);

        (int exitCode, string output) = await RunGnutlsCliAsync(loopback.Port);

        TlsHandshakeException ex = await Assert.ThrowsAsync<TlsHandshakeException>(() => serverTask.WaitAsync(s_testLimit));
        Assert.Equal(TlsFailureReason.NoAlpn, ex.Reason);
        Assert.Contains("did not offer ALPN ntske/1", ex.Message);
        Assert.True(exitCode != 0, $"gnutls-cli should have failed:\n{output}");
        Assert.Contains("Received alert [120]", output);
    }

    private async Task<(int ExitCode, string Output)> RunGnutlsCliAsync(int port, params string[] extraArguments)
    {
        string gnutlsCli = FindOnPath("gnutls-cli")
            ?? throw new InvalidOperationException("gnutls-cli is not installed; install it with: apt-get install gnutls-bin");
        var start = new ProcessStartInfo(gnutlsCli)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])
            ["127.0.0.1", "-p", port.ToString(), "--x509cafile", _pki.CaFile, "--verify-hostname=localhost", "--sni-hostname=localhost", .. extraArguments])
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;

        // End of input: gnutls-cli closes the session once the handshake is done.
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(s_testLimit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}
