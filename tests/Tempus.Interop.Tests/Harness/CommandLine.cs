using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Tempus.Interop.Tests.Harness;

public sealed record CommandResult(string CommandLine, int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"$ {CommandLine}\n(exit {ExitCode} after {Elapsed.TotalSeconds:F1} s)\n" +
        $"--- stdout ---\n{Stdout.TrimEnd()}\n--- stderr ---\n{Stderr.TrimEnd()}\n--------------";
}

// Runs a short-lived program (chronyc, ntpdig, tempusctl, ntpkeygen) to completion with a hard time
// limit, and echoes the command and its output into the test output.
public static class CommandLine
{
    public static async Task<CommandResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        ITestOutputHelper? output = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        ProcessStartInfo startInfo = CreateStartInfo(fileName, arguments, environment, workingDirectory);
        string commandLine = Render(startInfo);
        var stopwatch = Stopwatch.StartNew();
        using Process process = Process.Start(startInfo)
            ?? throw new InteropSetupException($"could not start {commandLine}");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            string partialOut = await ReadWithinAsync(stdout);
            string partialErr = await ReadWithinAsync(stderr);
            string message = $"{commandLine} did not finish within {timeout.TotalSeconds:F0} s and was killed\n" +
                $"--- stdout ---\n{partialOut}\n--- stderr ---\n{partialErr}";
            output?.WriteLine(message);
            throw new TimeoutException(message);
        }

        var result = new CommandResult(commandLine, process.ExitCode, await ReadWithinAsync(stdout), await ReadWithinAsync(stderr), stopwatch.Elapsed);
        output?.WriteLine(result.ToString());
        return result;
    }

    public static ProcessStartInfo CreateStartInfo(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment,
        string? workingDirectory)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (string argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach ((string name, string value) in environment)
            {
                startInfo.Environment[name] = value;
            }
        }

        return startInfo;
    }

    public static string Render(ProcessStartInfo startInfo)
    {
        var builder = new StringBuilder();
        if (startInfo.Environment.TryGetValue("PYTHONPATH", out string? pythonPath) && pythonPath is not null)
        {
            builder.Append("PYTHONPATH=").Append(Quote(pythonPath)).Append(' ');
        }

        builder.Append(Quote(startInfo.FileName));
        foreach (string argument in startInfo.ArgumentList)
        {
            builder.Append(' ').Append(Quote(argument));
        }

        return builder.ToString();
    }

    // POSIX shell single quoting, for logs and for the `capsh -- -c` command line.
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-=:,+@".Contains(c, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static async Task<string> ReadWithinAsync(Task<string> read)
    {
        // A grandchild that inherited the pipe could keep it open after the child exits.
        try
        {
            return await read.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            return "(output not closed within 5 s)";
        }
    }
}
