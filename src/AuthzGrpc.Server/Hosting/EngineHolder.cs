using AuthzGrpc.Core.Engine;

namespace AuthzGrpc.Server.Hosting;

/// <summary>
/// The engine in force. A schema change builds a new engine and swaps it in whole; every call reads
/// <see cref="Current"/> once and uses that engine throughout, so it never sees half of a change. Readers never lock.
/// </summary>
public sealed class EngineHolder
{
    private PermissionEngine? _current;

    /// <summary>The engine in force; throws until the model is loaded.</summary>
    public PermissionEngine Current =>
        Volatile.Read(ref _current) ?? throw new InvalidOperationException("the model is not loaded yet");

    /// <summary>Whether a model is loaded.</summary>
    public bool IsLoaded => Volatile.Read(ref _current) is not null;

    /// <summary>
    /// Puts <paramref name="engine"/> in force. The previous engine is not disposed: calls that started on it may still
    /// be reading it, and it holds nothing but memory.
    /// </summary>
    public void Swap(PermissionEngine engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Volatile.Write(ref _current, engine);
    }
}
