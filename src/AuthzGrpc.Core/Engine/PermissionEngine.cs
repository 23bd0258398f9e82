using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Engine;

/// <summary>How a relationship changes in a write.</summary>
public enum RelationshipOperation
{
    /// <summary>Add; fails with <see cref="AuthzErrorKind.AlreadyExists"/> if it is stored.</summary>
    Create,

    /// <summary>Add if missing; no error if stored.</summary>
    Touch,

    /// <summary>Remove if stored; no error if missing.</summary>
    Delete,
}

/// <summary>One change in a write batch.</summary>
public readonly record struct RelationshipUpdate(RelationshipOperation Operation, Relationship Relationship);

/// <summary>
/// The permission engine: the relationships of one schema, their precomputed closures, and evaluation of
/// Check, Explain, LookupResources and LookupSubjects. Thread-safe: reads run concurrently, a write batch is
/// applied atomically between them.
/// </summary>
public sealed partial class PermissionEngine : IDisposable
{
    /// <summary>Default recursion budget of one evaluation.</summary>
    public const int DefaultMaxDepth = 50;

    /// <summary>
    /// Default <see cref="EvaluationBudget"/>: steps (sub-evaluations of a relation or permission on an object) one
    /// evaluation may take. Ordinary checks take tens; sharing sub-results keeps even deep schemas linear.
    /// </summary>
    public const int DefaultEvaluationBudget = 100_000;

    private int _evaluationBudget = DefaultEvaluationBudget;

    private readonly RelationshipGraph _graph;
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly int _maxDepth;
    private long _revision;

    /// <summary>Creates an engine for <paramref name="schema"/> with no relationships.</summary>
    public PermissionEngine(CompiledSchema schema, int maxDepth = DefaultMaxDepth)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        _graph = new RelationshipGraph(schema);
        _maxDepth = maxDepth;
    }

    /// <summary>
    /// How many steps one evaluation may take — one Check, one Explain, one candidate of a lookup — before it fails with
    /// <see cref="AuthzErrorKind.ResourceExhausted"/> (never an allow). Default <see cref="DefaultEvaluationBudget"/>.
    /// Set it before the engine is shared; evaluations read it as they start.
    /// </summary>
    public int EvaluationBudget
    {
        get => Volatile.Read(ref _evaluationBudget);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref _evaluationBudget, value);
        }
    }

    /// <summary>
    /// Cancelled when the process shuts down (the host's ApplicationStopping): every evaluation of this engine then stops
    /// with <see cref="OperationCanceledException"/>, whatever its call's own token, so a long evaluation cannot hold the
    /// shutdown. Default: none. Set it before the engine is shared.
    /// </summary>
    public CancellationToken ShutdownToken { get; set; }

    /// <summary>The schema relationships are checked against.</summary>
    public CompiledSchema Schema => _graph.Schema;

    /// <summary>Increases by one with every write batch that changed something.</summary>
    public long Revision => Interlocked.Read(ref _revision);

    /// <summary>How many relationships are stored.</summary>
    public int RelationshipCount
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _graph.RelationshipCount;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>
    /// Applies a batch atomically: every update is validated against the schema first, and if one is invalid
    /// (or a create finds its relationship stored) nothing changes. Returns the revision after the batch: the next
    /// revision when something changed, or <paramref name="revision"/> when the caller (the source of truth)
    /// assigned one — it must be newer than <see cref="Revision"/>.
    /// </summary>
    public long Write(IReadOnlyList<RelationshipUpdate> updates, long? revision = null)
    {
        ArgumentNullException.ThrowIfNull(updates);
        _lock.EnterWriteLock();
        try
        {
            if (revision <= _revision)
            {
                throw new ArgumentOutOfRangeException(nameof(revision), revision, $"revision must be newer than {_revision}");
            }

            var resolved = ResolveUnlocked(updates);
            var changed = false;
            for (var i = 0; i < updates.Count; i++)
            {
                changed |= updates[i].Operation == RelationshipOperation.Delete ? _graph.Remove(resolved[i]) : _graph.Add(resolved[i]);
            }

            if (revision is { } assigned)
            {
                Interlocked.Exchange(ref _revision, assigned);
                return assigned;
            }

            return changed ? Interlocked.Increment(ref _revision) : _revision;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>
    /// Validates a batch against the schema and the stored relationships without applying it: throws the
    /// <see cref="AuthzException"/> that <see cref="Write"/> would throw.
    /// </summary>
    public void Validate(IReadOnlyList<RelationshipUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        _lock.EnterReadLock();
        try
        {
            ResolveUnlocked(updates);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private ResolvedRelationship[] ResolveUnlocked(IReadOnlyList<RelationshipUpdate> updates)
    {
        var resolved = new ResolvedRelationship[updates.Count];
        var creates = new HashSet<Relationship>();
        for (var i = 0; i < updates.Count; i++)
        {
            resolved[i] = _graph.Resolve(updates[i].Relationship);
            if (updates[i].Operation == RelationshipOperation.Create &&
                (_graph.Contains(resolved[i]) || !creates.Add(updates[i].Relationship)))
            {
                throw new AuthzException(AuthzErrorKind.AlreadyExists, $"{updates[i].Relationship} already exists: use touch to write it regardless");
            }
        }

        return resolved;
    }

    /// <summary>Touches every relationship in one batch.</summary>
    public long Add(params IEnumerable<Relationship> relationships) =>
        Write([.. relationships.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r))]);

    /// <summary>Deletes every relationship in one batch.</summary>
    public long Remove(params IEnumerable<Relationship> relationships) =>
        Write([.. relationships.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r))]);

    /// <summary>A snapshot of every stored relationship.</summary>
    public IReadOnlyList<Relationship> ReadAll() => Read(() => _graph.All().ToList());

    /// <summary>
    /// The stored relationships <paramref name="filter"/> selects. With a resource id it reads that object only; with
    /// a subject id, only the relation sets that subject appears in; otherwise every relationship is scanned.
    /// </summary>
    public IReadOnlyList<Relationship> Read(RelationshipFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return Read(() => _graph.Select(filter).ToList());
    }

    /// <summary>The objects reachable from <paramref name="resource"/> through relations that arrows walk (its ancestor chain).</summary>
    public IReadOnlyList<ObjectRef> Ancestors(ObjectRef resource) => Read(() =>
    {
        var node = FindObject(resource);
        return _graph.Ancestors.Reach(node).ToArray().Select(_graph.DescribeObject).ToList();
    });

    /// <summary>The membership-indexed subject sets <paramref name="subject"/> is in, directly or through nesting (the Leopard index).</summary>
    public IReadOnlyList<SubjectRef> Memberships(SubjectRef subject) => Read(() =>
    {
        var context = ResolveSubject(subject);
        return context.Reach.ToArray().Concat(context.WildcardReach.ToArray()).Distinct().Select(_graph.DescribeSubject).ToList();
    });

    /// <inheritdoc/>
    public void Dispose() => _lock.Dispose();

    private T Read<T>(Func<T> read)
    {
        _lock.EnterReadLock();
        try
        {
            return read();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    private int FindObject(ObjectRef resource) =>
        _graph.Schema.TryGetType(resource.Type, out var type) ? _graph.FindObject(type.Index, resource.Id) : -1;
}
