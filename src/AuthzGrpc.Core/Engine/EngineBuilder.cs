namespace AuthzGrpc.Core.Engine;

/// <summary>
/// Builds a new engine's first version from relationships given a batch at a time, as one write that is published
/// once: a load from the source of truth streams its rows through it and so holds one batch of them, not every
/// relationship and a copy of each as an update, as one <see cref="PermissionEngine.Write"/> of them all would.
/// </summary>
public sealed class EngineBuilder
{
    private readonly RelationshipGraph _next;
    private bool _built;

    /// <summary>Starts an engine for <paramref name="schema"/> with no relationships.</summary>
    public EngineBuilder(CompiledSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        _next = new RelationshipGraph(schema).Edit(new WriteEdit());
    }

    /// <summary>
    /// Touches <paramref name="relationships"/> (a relationship given twice is stored once). Throws the
    /// <see cref="AuthzException"/> a write would for one that does not fit the schema; the builder is then unusable.
    /// </summary>
    public void Add(IEnumerable<Relationship> relationships)
    {
        ArgumentNullException.ThrowIfNull(relationships);
        ObjectDisposedException.ThrowIf(_built, this);
        foreach (var relationship in relationships)
        {
            _next.Add(_next.Resolve(relationship));
        }
    }

    /// <summary>
    /// The engine holding what was added, at <paramref name="revision"/> (the source of truth's); with no revision yet
    /// (0), at 1 when something was added, as a first write would be. The builder is done after this.
    /// </summary>
    public PermissionEngine Build(long revision, int maxDepth = PermissionEngine.DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(revision);
        ObjectDisposedException.ThrowIf(_built, this);
        _built = true;
        _next.Seal(revision > 0 ? revision : _next.RelationshipCount > 0 ? 1 : 0);
        return new PermissionEngine(_next, maxDepth);
    }
}
