namespace Tempus.Auth;

/// <summary>The two key file formats Tempus reads and writes.</summary>
public enum KeyFileDialect
{
    /// <summary>chrony's keyfile: <c>ID [TYPE] [ASCII:|HEX:]KEY</c>.</summary>
    Chrony,

    /// <summary>ntpd/NTPsec's ntp.keys: <c>keyno type key</c>, a key of more than 20 characters is hex.</summary>
    NtpKeys,
}
