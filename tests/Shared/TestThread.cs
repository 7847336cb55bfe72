namespace Tempus.Testing;

/// <summary>
/// Runs test code on a fresh thread of its own (for per-thread state: pools, cached contexts) and brings its result
/// or its exception back: an exception left on a bare thread would take the whole test host down.
/// </summary>
internal static class TestThread
{
    /// <summary>Runs <paramref name="body"/> on a new thread, waits for it, and returns its result or rethrows its failure.</summary>
    public static T Run<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("the test thread failed", failure);
        }

        return result;
    }
}
