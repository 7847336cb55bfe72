using System.Buffers.Binary;
using Tempus.Crypto;
using Tempus.Protocol;
using Tempus.Tls;

namespace Tempus.Nts;

// RFC 8915 §4.3, §5.1: the C2S and S2C keys of an NTPv4 association come from the TLS exporter, shared by the
// client and the server so that both derive them the same way.
internal static class NtsKeKeys
{
    // RFC 8915 §4.3: the disambiguating label.
    public const string ExporterLabel = "EXPORTER-network-time-security";

    public const int ContextLength = 5;

    private const byte ClientToServer = 0;
    private const byte ServerToClient = 1;

    // The AEAD id written into the exporter context. chrony up to 4.6 put 15 there for AEAD 30; record 1024 in both
    // directions says both sides use the RFC 8915 §5.1 context with 30 instead.
    public static NtsAeadAlgorithm ContextAlgorithm(NtsAeadAlgorithm algorithm, bool compliantAes128GcmSiv) =>
        algorithm == NtsAeadAlgorithm.Aes128GcmSiv && !compliantAes128GcmSiv ? NtsAeadAlgorithm.AesSivCmac256 : algorithm;

    // RFC 8915 §5.1: protocol id 0 (NTPv4), the AEAD id, then 00 for C2S or 01 for S2C; each key as long as the AEAD's key.
    public static void Export(TlsSession session, NtsAeadAlgorithm algorithm, bool compliantAes128GcmSiv, Span<byte> c2sKey, Span<byte> s2cKey)
    {
        int length = NtsAead.GetKeyLength(algorithm);
        if (c2sKey.Length != length || s2cKey.Length != length)
        {
            throw new ArgumentException($"AEAD {(ushort)algorithm} keys are {length} bytes long");
        }

        Span<byte> context = stackalloc byte[ContextLength];
        WriteContext(context, ContextAlgorithm(algorithm, compliantAes128GcmSiv), ClientToServer);
        session.ExportKeyingMaterial(ExporterLabel, context, c2sKey);
        WriteContext(context, ContextAlgorithm(algorithm, compliantAes128GcmSiv), ServerToClient);
        session.ExportKeyingMaterial(ExporterLabel, context, s2cKey);
    }

    public static void WriteContext(Span<byte> context, NtsAeadAlgorithm contextAlgorithm, byte direction)
    {
        BinaryPrimitives.WriteUInt16BigEndian(context, (ushort)NtsNextProtocol.Ntpv4);
        BinaryPrimitives.WriteUInt16BigEndian(context.Slice(2), (ushort)contextAlgorithm);
        context[4] = direction;
    }
}
