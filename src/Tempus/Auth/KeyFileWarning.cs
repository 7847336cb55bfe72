namespace Tempus.Auth;

/// <summary>A problem in a key file that does not stop it from loading.</summary>
/// <param name="FileName">The key file.</param>
/// <param name="Line">The 1-based line, or 0 for the file as a whole.</param>
/// <param name="Message">What is wrong and what to do about it.</param>
public sealed record KeyFileWarning(string FileName, int Line, string Message)
{
    /// <summary>"file:line: message", or "file: message" for file-level warnings.</summary>
    public override string ToString() => Line > 0 ? $"{FileName}:{Line}: {Message}" : $"{FileName}: {Message}";
}
