using System.Globalization;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

// GnuTLS's gnutls-cli as a TLS client that is not built on OpenSSL, for the NTS-KE handshake alone: it
// verifies the certificate against caFile and the name localhost, offers the given ALPN protocols, and
// exits at once after the handshake because its standard input is closed.
public static class GnutlsCli
{
    public static Task<CommandResult> HandshakeAsync(PeerPaths paths, ITestOutputHelper output, int port, string caFile, params string[] alpn) =>
        CommandLine.RunAsync(
            paths.GnutlsCli,
            [
                "127.0.0.1",
                "-p", port.ToString(CultureInfo.InvariantCulture),
                "--x509cafile", caFile,
                "--verify-hostname=localhost",
                "--sni-hostname=localhost",
                .. alpn.Select(protocol => $"--alpn={protocol}"),
            ],
            TimeSpan.FromSeconds(20),
            output);
}
