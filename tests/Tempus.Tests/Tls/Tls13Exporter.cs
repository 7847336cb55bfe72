using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Tempus.Tests.Tls;

/// <summary>
/// An independent RFC 8446 §7.5 exporter from the exporter master secret, to check what OpenSSL's
/// SSL_export_keying_material produces:
///   TLS-Exporter(label, context, length) =
///     HKDF-Expand-Label(Derive-Secret(exporter_master_secret, label, ""), "exporter", Hash(context), length)
/// </summary>
internal static class Tls13Exporter
{
    public static byte[] Export(HashAlgorithmName hash, byte[] exporterMasterSecret, string label, byte[] context, int length)
    {
        int hashLength = HashLength(hash);
        byte[] emptyHash = Hash(hash, []);
        byte[] secret = ExpandLabel(hash, exporterMasterSecret, label, emptyHash, hashLength);
        return ExpandLabel(hash, secret, "exporter", Hash(hash, context), length);
    }

    // RFC 8446 §7.1: HkdfLabel = uint16 length || opaque label<7..255> ("tls13 " + Label) || opaque context<0..255>.
    private static byte[] ExpandLabel(HashAlgorithmName hash, byte[] secret, string label, byte[] context, int length)
    {
        byte[] fullLabel = Encoding.ASCII.GetBytes("tls13 " + label);
        byte[] info = new byte[2 + 1 + fullLabel.Length + 1 + context.Length];
        BinaryPrimitives.WriteUInt16BigEndian(info, (ushort)length);
        info[2] = (byte)fullLabel.Length;
        fullLabel.CopyTo(info, 3);
        info[3 + fullLabel.Length] = (byte)context.Length;
        context.CopyTo(info, 4 + fullLabel.Length);
        return HKDF.Expand(hash, secret, length, info);
    }

    private static byte[] Hash(HashAlgorithmName hash, byte[] data) =>
        hash == HashAlgorithmName.SHA384 ? SHA384.HashData(data) : SHA256.HashData(data);

    private static int HashLength(HashAlgorithmName hash) => hash == HashAlgorithmName.SHA384 ? 48 : 32;
}
