namespace Tempus.AotBench;

/// <summary>
/// One kind of request and what answers it: built once as a real peer would build it, checked once, then run in a
/// loop. <see cref="Run"/> holds the loop itself, so the measured code is a direct call, with no delegate between.
/// </summary>
internal abstract class BenchCase : IDisposable
{
    /// <summary>The short name in the table and the last line.</summary>
    public abstract string Name { get; }

    /// <summary>What one iteration does, for the table.</summary>
    public abstract string Description { get; }

    /// <summary>Bytes in (the request datagram, or the plaintext for the AEAD alone).</summary>
    public abstract int InputLength { get; }

    /// <summary>Bytes out, as found by <see cref="Verify"/>.</summary>
    public int OutputLength { get; protected set; }

    /// <summary>
    /// Runs one iteration and checks its result as the peer would (a client accepting the response, a reader opening
    /// the ciphertext). Returns null when it is right, otherwise what is wrong.
    /// </summary>
    public abstract string? Verify();

    /// <summary>Runs <paramref name="iterations"/> iterations; the result of each is not checked.</summary>
    public abstract void Run(int iterations);

    /// <summary>Releases the keys and AEAD contexts the case holds.</summary>
    public abstract void Dispose();
}
