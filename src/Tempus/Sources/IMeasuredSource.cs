using Tempus.Control;
using Tempus.Selection;

namespace Tempus.Sources;

/// <summary>
/// A source as the synchronization engine sees it: something that has measurements, can describe itself to selection,
/// and must hear about every correction made to the local clock so its stored samples stay on the corrected timescale
/// (chrony's SRC_SlewSamples).
/// </summary>
public interface IMeasuredSource
{
    /// <summary>The name shown in the views and used by selection.</summary>
    string Name { get; }

    /// <summary>The regression over the source's kept samples (frequency and offset relative to the local clock).</summary>
    SourceStatistics Statistics { get; }

    /// <summary>What selection needs to know about the source at <paramref name="localNowNs"/> (local clock, Unix ns).</summary>
    SelectionCandidate ToCandidate(long localNowNs);

    /// <summary>
    /// The local clock was corrected at <paramref name="localNowNs"/>: its frequency changed by
    /// <paramref name="frequencyChangePpm"/> (positive = now runs faster) and <paramref name="offsetCorrection"/> seconds
    /// (reference − local) were stepped or are being slewed out. Stored samples are adjusted as if the correction had
    /// always been in force.
    /// </summary>
    void OnClockCorrected(long localNowNs, double frequencyChangePpm, double offsetCorrection);

    /// <summary>Selection's verdict on the source, kept for the views.</summary>
    void OnSelected(SourceSelection selection);

    /// <summary>Everything the per-source views show, at <paramref name="localNowNs"/>.</summary>
    SourceReport Report(long localNowNs);
}
