namespace Tempus.Protocol;

/// <summary>AEAD algorithm ids negotiated by NTS-KE (IANA "AEAD Algorithms" registry, RFC 8915 §4.1.5).</summary>
public enum NtsAeadAlgorithm : ushort
{
    /// <summary>AEAD_AES_SIV_CMAC_256 (RFC 5297): 32-byte key, 16-byte tag. Mandatory to implement for NTPv4 servers.</summary>
    AesSivCmac256 = 15,

    /// <summary>AEAD_AES_SIV_CMAC_384 (RFC 5297): 48-byte key, 16-byte tag.</summary>
    AesSivCmac384 = 16,

    /// <summary>AEAD_AES_SIV_CMAC_512 (RFC 5297): 64-byte key, 16-byte tag.</summary>
    AesSivCmac512 = 17,

    /// <summary>
    /// AEAD_AES_128_GCM_SIV (RFC 8452): 16-byte key, 12-byte nonce, 16-byte tag. Offer it together with
    /// <see cref="NtsKeRecordType.CompliantAes128GcmSivExporter"/> so that chrony derives its keys per RFC 8915 §5.1.
    /// </summary>
    Aes128GcmSiv = 30,
}
