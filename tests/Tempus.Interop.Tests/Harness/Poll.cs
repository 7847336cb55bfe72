using System.Diagnostics;

namespace Tempus.Interop.Tests.Harness;

public static class Poll
{
    // Repeats an attempt until it is good enough or the time is up, and returns the last attempt either
    // way so the test asserts on (and prints) what the peer really said.
    public static async Task<T> UntilAsync<T>(Func<Task<T>> attempt, Func<T, bool> isDone, TimeSpan within, TimeSpan interval)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            T result = await attempt();
            if (isDone(result) || stopwatch.Elapsed + interval > within)
            {
                return result;
            }

            await Task.Delay(interval);
        }
    }
}
