using Tempus.Testing;

namespace Tempus.Protocol.Tests;

public class AllocationTests
{
    [Fact]
    public void ParsingAPacketAndWalkingItsExtensionFieldsAllocatesNothing()
    {
        byte[] nts = Packets.NtsVectors().Single(v => v.Name == "AEAD 15 request").Datagram;
        byte[] mac = Packets.Concat(Packets.Header(), Packets.Field(0x1234, 16), Packets.Mac(7, 20));
        byte[] output = new byte[NtpPacketHeader.Size];

        for (int i = 0; i < 1000; i++)
        {
            Work(nts, mac, output);
        }

        long sum = 0;
        AllocationAssert.NothingPerRound(
            () =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    sum += Work(nts, mac, output);
                }
            },
            "1000 parses");
        Assert.NotEqual(0, sum);
    }

    private static long Work(byte[] nts, byte[] mac, byte[] output) => Work(nts, output) + Work(mac, output);

    private static long Work(ReadOnlySpan<byte> datagram, byte[] output)
    {
        if (NtpPacketLayout.TryParse(datagram, out NtpPacketLayout layout) != NtpParseStatus.Ok)
        {
            return 0;
        }

        long sum = 0;
        ExtensionFieldReader reader = layout.GetExtensionFields();
        while (reader.TryReadNext(out ExtensionField field, out _))
        {
            sum += field.Type + field.Value.Length;
        }

        sum += layout.MacKeyId + layout.MacDigest.Length + layout.AuthenticatedData.Length;
        NtpPacketHeader header = layout.Header;
        sum += header.TransmitTimestamp - header.OriginTimestamp;
        sum += NtpTimestamp.FromUnixTimeNanoseconds(1_767_225_600_123_456_789).ToUnixTimeNanoseconds(1_767_225_600_000_000_000);
        sum += NtpShortFormat.FromFixed(sum).Value;
        header.TryWrite(output, out int written);
        return sum + written;
    }
}
