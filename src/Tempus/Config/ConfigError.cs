namespace Tempus.Config;

/// <summary>One problem found in a configuration file, with the place it was found.</summary>
/// <param name="FileName">The file the directive came from.</param>
/// <param name="Line">The 1-based line number, or 0 for a problem with the file as a whole.</param>
/// <param name="Message">What is wrong and, where it helps, what was expected.</param>
public sealed record ConfigError(string FileName, int Line, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => Line > 0 ? $"{FileName}:{Line}: {Message}" : $"{FileName}: {Message}";
}

/// <summary>Thrown when a configuration has errors; carries every error found, not just the first.</summary>
public sealed class ConfigurationException : Exception
{
    /// <summary>Creates the exception from the errors found.</summary>
    public ConfigurationException(IReadOnlyList<ConfigError> errors)
        : base(FormatMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>Every error found, in file order.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<ConfigError> errors)
        => errors.Count == 1 ? errors[0].ToString() : $"{errors.Count} configuration errors:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}";
}
