using System.Diagnostics;

namespace Tempus.Cli.Tests;

/// <summary>Runs the real tempusctl apphost (copied next to the tests by the project reference).</summary>
internal static class Tempusctl
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static async Task<Result> RunAsync(params string[] args)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "tempusctl");
        Assert.True(File.Exists(path), $"tempusctl apphost not found at {path}: build tests/Tempus.Cli.Tests");
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tempusctl {string.Join(' ', args)} did not exit within 60 s");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
