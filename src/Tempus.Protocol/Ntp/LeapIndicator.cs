namespace Tempus.Protocol;

/// <summary>The leap indicator in the top two bits of the first header byte (RFC 5905 §7.3, Figure 9).</summary>
public enum LeapIndicator : byte
{
    /// <summary>No leap second pending.</summary>
    NoWarning = 0,

    /// <summary>The last minute of the day has 61 seconds.</summary>
    InsertSecond = 1,

    /// <summary>The last minute of the day has 59 seconds.</summary>
    DeleteSecond = 2,

    /// <summary>The clock is unsynchronized (also set in kiss-o'-death packets).</summary>
    Unsynchronized = 3,
}
