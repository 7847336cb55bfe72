using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace Tempus.Auth;

/// <summary>
/// The symmetric keys of a key file, by id, and the trusted subset. Lookups are lock-free and
/// thread-safe; <see cref="SetTrustedKeys"/> swaps the trusted set atomically.
/// </summary>
public sealed class KeyRing : IDisposable
{
    private readonly FrozenDictionary<uint, SymmetricKey> _keys;

    // null: no trusted set configured, every key is usable (chrony's behaviour).
    private volatile FrozenSet<uint>? _trusted;

    /// <summary>Creates a ring that owns <paramref name="keys"/>: disposing the ring disposes them.</summary>
    /// <param name="keys">The keys; ids must be unique.</param>
    /// <exception cref="ArgumentException">Two keys have the same id.</exception>
    public KeyRing(IEnumerable<SymmetricKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var byId = new Dictionary<uint, SymmetricKey>();
        foreach (SymmetricKey key in keys)
        {
            if (!byId.TryAdd(key.Id, key))
            {
                throw new ArgumentException($"duplicate key id {key.Id}: {byId[key.Id].Origin} and {key.Origin}", nameof(keys));
            }
        }

        _keys = byId.ToFrozenDictionary();
    }

    /// <summary>Every key of the ring, trusted or not.</summary>
    public IReadOnlyCollection<SymmetricKey> Keys => _keys.Values;

    /// <summary>The number of keys in the ring, trusted or not.</summary>
    public int Count => _keys.Count;

    /// <summary>
    /// Loads a chrony or ntpd key file (see <see cref="KeyFile"/>) into a ring with no trusted set.
    /// </summary>
    /// <param name="path">The key file.</param>
    /// <param name="warnings">Receives problems that do not stop loading (file mode, weak or short keys).</param>
    /// <exception cref="KeyFileException">The file cannot be read or has an invalid line.</exception>
    public static KeyRing Load(string path, IList<KeyFileWarning> warnings) => new(KeyFile.Load(path, warnings));

    /// <summary>
    /// Finds a usable key: one that exists and is trusted, or any existing key when no trusted set
    /// was configured.
    /// </summary>
    /// <param name="id">The key id from a MAC.</param>
    /// <param name="key">The key, when usable.</param>
    public bool TryGetKey(uint id, [MaybeNullWhen(false)] out SymmetricKey key)
    {
        if (_keys.TryGetValue(id, out key) && IsTrusted(id))
        {
            return true;
        }

        key = null;
        return false;
    }

    /// <summary>
    /// Restricts the usable keys to <paramref name="ids"/> (ntpd's <c>trustedkey</c>); null makes
    /// every key usable again. Ids without a key are kept: they match nothing until a reload adds them.
    /// </summary>
    /// <param name="ids">The trusted ids, or null for all keys.</param>
    public void SetTrustedKeys(IEnumerable<uint>? ids) => _trusted = ids?.ToFrozenSet();

    /// <summary>True when <paramref name="id"/> is in the trusted set, or no trusted set was configured.</summary>
    /// <param name="id">The key id.</param>
    public bool IsTrusted(uint id) => _trusted is not { } trusted || trusted.Contains(id);

    /// <summary>Disposes every key, wiping the secrets.</summary>
    public void Dispose()
    {
        foreach (SymmetricKey key in _keys.Values)
        {
            key.Dispose();
        }
    }
}
