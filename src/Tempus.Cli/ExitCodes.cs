namespace Tempus.Cli;

/// <summary>tempusctl's exit codes: each failure a script may want to tell apart has its own.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Timeout = 3;
    public const int Unreachable = 4;
    public const int AuthenticationFailed = 5;
    public const int CryptoNak = 6;
    public const int KissOfDeath = 7;
    public const int InvalidResponse = 8;
    public const int KeyError = 9;
    public const int NtsKeFailed = 10;
    public const int NotPermitted = 11;
}
