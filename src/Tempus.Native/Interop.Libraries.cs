internal static partial class Interop
{
    /// <summary>Names of the native libraries Tempus binds to; each is loaded by the runtime on first use.</summary>
    internal static class Libraries
    {
        internal const string Libc = "libc";
        internal const string LibSsl = "libssl.so.3";
        internal const string LibCrypto = "libcrypto.so.3";
    }
}
