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
/// Check, Explain, LookupResources and LookupSubjects. Thread-safe without a reader lock: every read takes the
/// published version of the graph once and answers from it alone, while a write batch builds the next version and
/// publishes it in one reference swap, so a read sees a batch entirely or not at all.
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

    // Writers only: they build versions one at a time, from the latest.
    private readonly Lock _writeLock = new();
    private readonly int _maxDepth;

    // The published version: immutable; replaced whole by each write batch that changes something.
    private volatile RelationshipGraph _graph;

    /// <summary>Creates an engine for <paramref name="schema"/> with no relationships.</summary>
    public PermissionEngine(CompiledSchema schema, int maxDepth = DefaultMaxDepth)
        : this(new RelationshipGraph(schema ?? throw new ArgumentNullException(nameof(schema))), maxDepth)
    {
    }

    // An engine publishing a sealed first version (see EngineBuilder).
    internal PermissionEngine(RelationshipGraph graph, int maxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        _graph = graph;
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

    /// <summary>
    /// The clock expiring relationships are judged by: from its <c>now</c> on, a relationship whose expiry has passed
    /// counts for nothing in any answer, read or write, whether or not it has been deleted yet. Default: the system's.
    /// Set it before the engine is shared.
    /// </summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>The schema relationships are checked against.</summary>
    public CompiledSchema Schema => _graph.Schema;

    /// <summary>Increases by one with every write batch that changed something.</summary>
    public long Revision => _graph.Revision;

    /// <summary>How many relationships are stored.</summary>
    public int RelationshipCount => _graph.RelationshipCount;

    /// <summary>
    /// Applies a batch atomically: every update is validated against the schema first, and if one is invalid
    /// (or a create finds its relationship stored) nothing changes. Returns the revision after the batch: the next
    /// revision when something changed, or <paramref name="revision"/> when the caller (the source of truth)
    /// assigned one — it must be newer than <see cref="Revision"/>.
    /// </summary>
    public long Write(IReadOnlyList<RelationshipUpdate> updates, long? revision = null)
    {
        ArgumentNullException.ThrowIfNull(updates);
        lock (_writeLock)
        {
            var current = _graph;
            if (revision <= current.Revision)
            {
                throw new ArgumentOutOfRangeException(nameof(revision), revision, $"revision must be newer than {current.Revision}");
            }

            var resolved = Resolve(current, updates);
            var next = current.Edit(new WriteEdit());
            var changed = false;
            for (var i = 0; i < updates.Count; i++)
            {
                changed |= updates[i].Operation == RelationshipOperation.Delete ? next.Remove(resolved[i]) : next.Add(resolved[i]);
            }

            if (revision is null && !changed)
            {
                return current.Revision;
            }

            next.Seal(revision ?? current.Revision + 1);
            _graph = next;
            return next.Revision;
        }
    }

    /// <summary>
    /// Validates a batch against the schema and the stored relationships without applying it: throws the
    /// <see cref="AuthzException"/> that <see cref="Write"/> would throw.
    /// </summary>
    public void Validate(IReadOnlyList<RelationshipUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        Resolve(_graph, updates);
    }

    // An expired relationship is not there: creating it again succeeds (and replaces it), as in SpiceDB.
    private ResolvedRelationship[] Resolve(RelationshipGraph graph, IReadOnlyList<RelationshipUpdate> updates)
    {
        var now = Now(graph);
        var resolved = new ResolvedRelationship[updates.Count];
        var creates = new HashSet<Relationship>();
        for (var i = 0; i < updates.Count; i++)
        {
            resolved[i] = graph.Resolve(updates[i].Relationship, forDelete: updates[i].Operation == RelationshipOperation.Delete);
            if (updates[i].Operation == RelationshipOperation.Create &&
                (graph.Contains(resolved[i], now) || !creates.Add(updates[i].Relationship)))
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

    /// <summary>A snapshot of every stored relationship (but for those expired by the <see cref="Clock"/>).</summary>
    public IReadOnlyList<Relationship> ReadAll()
    {
        var graph = _graph;
        return graph.All(Now(graph)).ToList();
    }

    /// <summary>
    /// The stored relationships <paramref name="filter"/> selects (but for those expired by the <see cref="Clock"/>). With a resource id it reads that object only; with
    /// a subject id, only the relation sets that subject appears in; otherwise every relationship is scanned.
    /// </summary>
    public IReadOnlyList<Relationship> Read(RelationshipFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var graph = _graph;
        return graph.Select(filter, Now(graph)).ToList();
    }

    /// <summary>The objects reachable from <paramref name="resource"/> through relations that arrows walk (its ancestor chain).</summary>
    public IReadOnlyList<ObjectRef> Ancestors(ObjectRef resource)
    {
        var graph = _graph;
        var node = FindObject(graph, resource);
        return graph.Ancestors.Reach(node).ToArray().Select(graph.DescribeObject).ToList();
    }

    /// <summary>The membership-indexed subject sets <paramref name="subject"/> is in, directly or through nesting (the Leopard index).</summary>
    public IReadOnlyList<SubjectRef> Memberships(SubjectRef subject)
    {
        var graph = _graph;
        var context = ResolveSubject(graph, subject);
        return context.Reach.ToArray().Concat(context.WildcardReach.ToArray()).Distinct().Select(graph.DescribeSubject).ToList();
    }

    /// <summary>Nothing to release: readers take no lock. Kept so that owners may keep disposing the engine.</summary>
    public void Dispose()
    {
    }

    private static int FindObject(RelationshipGraph graph, ObjectRef resource) =>
        graph.Schema.TryGetType(resource.Type, out var type) ? graph.FindObject(type.Index, resource.Id) : -1;
}
