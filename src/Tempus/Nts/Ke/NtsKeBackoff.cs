namespace Tempus.Nts;

/// <summary>
/// When an NTS client may try a key exchange again after failures: RFC 8915 §4.2's suggested exponential backoff,
/// t = min(10 s × 1.5^(n−1), 5 days) before the n-th retry. One instance per NTS-KE server; thread-safe.
/// </summary>
/// <remarks>
/// RFC 8915 §4.2 requires a mechanism that does not overload the server on retries and forbids resetting it until a
/// key exchange has succeeded <em>and</em> the keys and cookies it gave have been used successfully: call
/// <see cref="RecordFailure"/> after every failed exchange (and after an exchange whose cookies the NTP server then
/// rejects), and <see cref="Reset"/> only after the first authenticated NTS response.
/// </remarks>
public sealed class NtsKeBackoff
{
    /// <summary>RFC 8915 §4.2: the initial and minimum retry interval.</summary>
    public static readonly TimeSpan DefaultMinimumInterval = TimeSpan.FromSeconds(10);

    /// <summary>RFC 8915 §4.2: the maximum retry interval, 5 days (432000 s).</summary>
    public static readonly TimeSpan DefaultMaximumInterval = TimeSpan.FromDays(5);

    /// <summary>RFC 8915 §4.2: the base of the exponent.</summary>
    public const double DefaultBase = 1.5;

    private readonly TimeProvider _timeProvider;
    private readonly Lock _lock = new();
    private int _failures;
    private DateTimeOffset? _nextAttempt;

    /// <summary>Creates the RFC 8915 §4.2 policy: 10 s, × 1.5 per failure, at most 5 days.</summary>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public NtsKeBackoff(TimeProvider? timeProvider = null)
        : this(DefaultMinimumInterval, DefaultMaximumInterval, DefaultBase, timeProvider)
    {
    }

    /// <summary>Creates a policy with other constants (for tests, or a deployment with its own operational experience, which RFC 8915 §4.2 allows).</summary>
    /// <param name="minimumInterval">The first and shortest interval.</param>
    /// <param name="maximumInterval">The longest interval.</param>
    /// <param name="base">The factor each failure multiplies the interval by; at least 1.</param>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    public NtsKeBackoff(TimeSpan minimumInterval, TimeSpan maximumInterval, double @base, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(minimumInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumInterval, minimumInterval);
        if (!(@base >= 1.0) || double.IsInfinity(@base))
        {
            throw new ArgumentOutOfRangeException(nameof(@base), @base, "the backoff base must be a finite number of at least 1");
        }

        MinimumInterval = minimumInterval;
        MaximumInterval = maximumInterval;
        Base = @base;
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The first and shortest retry interval.</summary>
    public TimeSpan MinimumInterval { get; }

    /// <summary>The longest retry interval.</summary>
    public TimeSpan MaximumInterval { get; }

    /// <summary>The factor between successive intervals.</summary>
    public double Base { get; }

    /// <summary>Failures since the last <see cref="Reset"/>.</summary>
    public int Failures
    {
        get
        {
            lock (_lock)
            {
                return _failures;
            }
        }
    }

    /// <summary>The earliest time of the next attempt, or <see langword="null"/> when no failure is pending (attempt now).</summary>
    public DateTimeOffset? NextAttemptTime
    {
        get
        {
            lock (_lock)
            {
                return _nextAttempt;
            }
        }
    }

    /// <summary>Whether an attempt may be made now.</summary>
    public bool IsAttemptAllowed => GetRemainingDelay() == TimeSpan.Zero;

    /// <summary>The interval before the <paramref name="retry"/>-th retry: min(minimum × base^(retry−1), maximum).</summary>
    /// <param name="retry">1 for the retry after the first failure.</param>
    /// <returns>The interval.</returns>
    public TimeSpan GetInterval(int retry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retry, 1);

        // In seconds as a double (this is a schedule, not a timestamp on the wire); the cap keeps it finite.
        double seconds = MinimumInterval.TotalSeconds * Math.Pow(Base, retry - 1);
        return seconds >= MaximumInterval.TotalSeconds || double.IsNaN(seconds) ? MaximumInterval : TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Records a failed exchange and schedules the next attempt.</summary>
    /// <returns>The interval until the next attempt is allowed.</returns>
    public TimeSpan RecordFailure()
    {
        lock (_lock)
        {
            if (_failures < int.MaxValue)
            {
                _failures++;
            }

            TimeSpan interval = GetInterval(_failures);
            _nextAttempt = _timeProvider.GetUtcNow() + interval;
            return interval;
        }
    }

    /// <summary>
    /// Clears the failures. RFC 8915 §4.2: only after a successful key exchange <em>followed by</em> a successful use
    /// of its keys and cookies with the NTP server, not after the key exchange alone.
    /// </summary>
    public void Reset()
    {
        lock (_lock)
        {
            _failures = 0;
            _nextAttempt = null;
        }
    }

    /// <summary>How long until an attempt is allowed; <see cref="TimeSpan.Zero"/> when it is now.</summary>
    /// <returns>The remaining delay.</returns>
    public TimeSpan GetRemainingDelay()
    {
        DateTimeOffset? next = NextAttemptTime;
        if (next is null)
        {
            return TimeSpan.Zero;
        }

        TimeSpan remaining = next.Value - _timeProvider.GetUtcNow();
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    /// <summary>Waits, on this policy's clock, until an attempt is allowed.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the next attempt may start.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task WaitAsync(CancellationToken cancellationToken = default)
    {
        // A failure recorded while waiting moves the time on; check again after each wait.
        for (TimeSpan delay = GetRemainingDelay(); delay > TimeSpan.Zero; delay = GetRemainingDelay())
        {
            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}
