using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Tempus.Tests.TestData;
using Tempus.Tls;

namespace Tempus.Tests.Tls;

/// <summary>
/// RFC 8915 §4.3 key export. The reference vectors start from an exporter master secret, which cannot be
/// injected into a live OpenSSL session; so they check an independent RFC 8446 §7.5 exporter, and a live
/// session (whose exporter master secret OpenSSL's key log reveals) checks that
/// <see cref="TlsSession.ExportKeyingMaterial"/> equals that exporter with the NTS context bytes.
/// </summary>
public sealed class ExporterVectorTests : IClassFixture<TestPki>
{
    private const string VectorFile = "nts_tls13_exporter_vectors.json";
    private const string NtsExporterLabel = "EXPORTER-network-time-security";

    // Kept in a static field: OpenSSL holds the function pointer for the life of the context.
    private static readonly KeylogCallback s_keylog = OnKeylogLine;
    private static readonly ConcurrentDictionary<string, string> s_exporterSecrets = new();
    private readonly TestPki _pki;

    public ExporterVectorTests(TestPki pki) => _pki = pki;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void KeylogCallback(nint ssl, nint line);

    // RFC 8446 §7.5 exporter vectors for label EXPORTER-network-time-security; RFC 8915 §4.3 contexts
    // (protocol 0, AEAD id, 00 = C2S / 01 = S2C) and chrony's legacy 16-byte AEAD 30 keys.
    public static TheoryData<string, string, string, string, string> Vectors()
    {
        using JsonDocument doc = ReferenceVectors.Load(VectorFile);
        var data = new TheoryData<string, string, string, string, string>();
        foreach (JsonProperty suite in doc.RootElement.EnumerateObject())
        {
            string cipherSuite = suite.Value.GetProperty("cipher_suite").GetString()!;
            string secret = suite.Value.GetProperty("exporter_master_secret").GetString()!;
            foreach (JsonProperty key in suite.Value.GetProperty("keys").EnumerateObject())
            {
                data.Add($"{suite.Name} {key.Name}", cipherSuite, secret, ContextFor(key.Name), key.Value.GetString()!);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void IndependentExporterReproducesTheReferenceKeys(string name, string cipherSuite, string secretHex, string contextHex, string expectedHex)
    {
        byte[] expected = Convert.FromHexString(expectedHex);
        byte[] actual = Tls13Exporter.Export(HashFor(cipherSuite), Convert.FromHexString(secretHex), NtsExporterLabel, Convert.FromHexString(contextHex), expected.Length);
        Assert.True(expected.AsSpan().SequenceEqual(actual), name);
    }

    [Fact]
    public async Task SessionExportEqualsRfc8446ExporterWithNtsContext()
    {
        using var server = new TlsServerContext(new TlsServerOptions { Certificates = [_pki.Localhost] });
        using var client = new TlsClientContext(new TlsClientOptions
        {
            ServerName = "localhost",
            TrustedCertificateFiles = [_pki.CaFile],
            UseSystemCertificates = false,
        });
        SetKeylogCallback(client.Handle, s_keylog);
        using var loopback = new Loopback();
        Task<TlsSession> serverTask = loopback.AcceptTlsAsync(server);
        using TlsSession clientSession = await client.ConnectAsync("127.0.0.1", loopback.Port);
        using TlsSession serverSession = await serverTask;

        // One session ran on this context, so the key log holds exactly one exporter master secret.
        byte[] exporterMasterSecret = Convert.FromHexString(Assert.Single(s_exporterSecrets).Value);
        HashAlgorithmName hash = HashFor(clientSession.CipherSuite!);

        foreach (byte[] context in (byte[][])[[0, 0, 0, 0x0F, 0], [0, 0, 0, 0x0F, 1], [0, 0, 0, 0x11, 0], [0, 0, 0, 0x1E, 1]])
        {
            int length = context[3] == 0x11 ? 64 : context[3] == 0x1E ? 16 : 32;
            byte[] exported = new byte[length];
            clientSession.ExportKeyingMaterial(NtsExporterLabel, context, exported);
            Assert.Equal(Tls13Exporter.Export(hash, exporterMasterSecret, NtsExporterLabel, context, length), exported);
        }
    }

    [DllImport("libssl.so.3", EntryPoint = "SSL_CTX_set_keylog_callback")]
    private static extern void SetKeylogCallback(SafeHandle ctx, KeylogCallback callback);

    // NSS key log format: "EXPORTER_SECRET <client_random hex> <secret hex>".
    private static void OnKeylogLine(nint ssl, nint line)
    {
        string[] fields = (Marshal.PtrToStringUTF8(line) ?? string.Empty).Split(' ');
        if (fields.Length == 3 && fields[0] == "EXPORTER_SECRET")
        {
            s_exporterSecrets[fields[1]] = fields[2];
        }
    }

    private static HashAlgorithmName HashFor(string cipherSuite) =>
        cipherSuite.EndsWith("SHA384", StringComparison.Ordinal) ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256;

    // "aead15_c2s_context_0000000f00" carries its context; "aead15_c2s" (RFC 8448 entry) implies 0000 000f 00.
    private static string ContextFor(string keyName)
    {
        int at = keyName.IndexOf("context_", StringComparison.Ordinal);
        if (at >= 0)
        {
            return keyName[(at + "context_".Length)..];
        }

        string[] parts = keyName.Split('_');
        int aead = int.Parse(parts[0]["aead".Length..], System.Globalization.CultureInfo.InvariantCulture);
        return $"0000{aead:x4}{(parts[1] == "c2s" ? "00" : "01")}";
    }
}
