namespace Tempus.Discipline;

/// <summary>The clock discipline directives of the configuration (chrony.conf semantics and defaults).</summary>
public sealed record DisciplineOptions
{
    /// <summary>The defaults: no makestep, no maxchange, no drift file, chrony's maxslewrate and maxupdateskew.</summary>
    public static DisciplineOptions Default { get; } = new();

    /// <summary>
    /// <c>makestep THRESHOLD LIMIT</c>: step when the offset is larger than <see cref="MakeStepThreshold"/> seconds,
    /// but only during the first <see cref="MakeStepLimit"/> clock updates (-1: at any update). Null threshold: never step.
    /// </summary>
    public double? MakeStepThreshold { get; init; }

    /// <summary>See <see cref="MakeStepThreshold"/>.</summary>
    public int MakeStepLimit { get; init; }

    /// <summary>
    /// <c>maxchange OFFSET START IGNORE</c>: after the first <see cref="MaxChangeStart"/> updates, an offset larger than
    /// <see cref="MaxChangeOffset"/> seconds is ignored up to <see cref="MaxChangeIgnore"/> times, then the daemon
    /// gives up (exits, as chronyd does). Null offset: no guard.
    /// </summary>
    public double? MaxChangeOffset { get; init; }

    /// <summary>See <see cref="MaxChangeOffset"/>.</summary>
    public int MaxChangeStart { get; init; }

    /// <summary>See <see cref="MaxChangeOffset"/>; -1 never gives up.</summary>
    public int MaxChangeIgnore { get; init; }

    /// <summary><c>driftfile PATH</c>: frequency correction loaded at start, saved periodically and at exit.</summary>
    public string? DriftFile { get; init; }

    /// <summary><c>rtcsync</c>: let the kernel copy the system time to the RTC every 11 minutes.</summary>
    public bool RtcSync { get; init; }

    /// <summary><c>maxslewrate</c> in ppm (chrony's default 83333.333).</summary>
    public double MaxSlewRatePpm { get; init; } = 1e6 / 12;

    /// <summary><c>maxupdateskew</c> in ppm: frequency estimates with a larger skew are not used (chrony's default 1000).</summary>
    public double MaxUpdateSkewPpm { get; init; } = 1000;

    /// <summary><c>maxdrift</c> in ppm: the largest frequency correction ever applied (chrony's default 500000).</summary>
    public double MaxDriftPpm { get; init; } = 500000;

    /// <summary><c>leapsecmode</c>: apply leap seconds announced by the sources through the kernel (the only mode so far).</summary>
    public bool ApplyLeapSeconds { get; init; } = true;

    /// <summary><c>maxclockerror</c> in ppm: the assumed frequency error of the local oscillator, added to the growth
    /// of the root dispersion between updates (chrony's default 1).</summary>
    public double MaxClockErrorPpm { get; init; } = 1;

    /// <summary>Seconds of clock updates between two saves of the drift file (chrony's <c>driftfile ... interval</c>,
    /// default one hour); the file is also saved at exit.</summary>
    public double DriftFileIntervalSeconds { get; init; } = 3600;
}
