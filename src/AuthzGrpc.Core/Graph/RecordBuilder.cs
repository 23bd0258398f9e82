namespace AuthzGrpc.Core.Graph;

/// <summary>
/// Computes the record of one object (or of a type's wildcard) from relationships read on demand from an
/// <see cref="IRelationshipIndex"/>: exactly what <see cref="PermissionEngine.DescribeRecord(string, string)"/> gives for the same
/// relationships, without holding them all. It walks level by level, one batched read per level: the objects' own
/// relationships (their relation lines, and the first level of their ancestors); then their ancestors, a level at a
/// time, by resource over the relations arrows walk; then the subject sets the objects and their own subject sets are
/// in, a level at a time, by subject over the membership-indexed relations. Several records asked together share every
/// level's read. A level holding only types that can have no such relationship is not read. Work is bounded: past
/// <see cref="MaxRows"/> relationships read for one call it fails with <see cref="AuthzErrorKind.ResourceExhausted"/>,
/// never with a partial record.
/// </summary>
public sealed class RecordBuilder
{
    /// <summary>The default <see cref="MaxRows"/>.</summary>
    public const int DefaultMaxRows = 100_000;

    private readonly CompiledSchema _schema;
    private readonly IRelationshipIndex _index;

    // Per type: the names of its relations arrows walk (types without one are absent: their objects end a chain).
    private readonly Dictionary<string, string[]> _arrowRelations = new(StringComparer.Ordinal);

    // The names of the membership-indexed relations, and the subject shapes they admit: a subject of another shape is
    // in no closure, so it is never read.
    private readonly string[] _indexedRelations;
    private readonly HashSet<(string Type, string? Relation, bool Wildcard)> _memberShapes = [];

    /// <summary>A builder over <paramref name="index"/>, whose relationships <paramref name="schema"/> describes.</summary>
    public RecordBuilder(CompiledSchema schema, IRelationshipIndex index, int maxRows = DefaultMaxRows)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        ArgumentOutOfRangeException.ThrowIfEqual(maxRows, int.MaxValue);
        _schema = schema;
        _index = index;
        MaxRows = maxRows;
        var indexed = new List<string>();
        foreach (var type in schema.Types)
        {
            var relations = type.Members.OfType<RelationDefinition>().ToList();
            if (relations.Where(r => r.IsArrowSource).Select(r => r.Name).ToArray() is { Length: > 0 } walked)
            {
                _arrowRelations[type.Name] = walked;
            }

            foreach (var relation in relations.Where(r => r.IsMembershipIndexed))
            {
                indexed.Add(relation.Name);
                _memberShapes.UnionWith(relation.AllowedSubjects.Select(s => (s.Type.Name, s.Relation?.Name, s.Wildcard)));
            }
        }

        _indexedRelations = [.. indexed.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The schema the records are computed under.</summary>
    public CompiledSchema Schema => _schema;

    /// <summary>How many relationships one call (one record, or records asked together) may read before it fails (ResourceExhausted).</summary>
    public int MaxRows { get; }

    /// <summary>
    /// The record of <paramref name="type"/>:<paramref name="id"/> (<c>*</c> for the type's wildcard) at the index's
    /// revision; empty when nothing is stored about it. Throws <see cref="AuthzException"/> — InvalidArgument for a type
    /// the schema does not define, ResourceExhausted past <see cref="MaxRows"/> — and
    /// <see cref="OperationCanceledException"/> once <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<RecordContent> BuildAsync(string type, string id, CancellationToken cancellationToken = default) =>
        (await BuildAsync([(type, id)], cancellationToken).ConfigureAwait(false))[0];

    /// <summary>
    /// The records of <paramref name="records"/> (an id <c>*</c> names the type's wildcard), in that order, computed
    /// together: each level's read covers every record's walk, so the batch costs the queries of its deepest record, not
    /// their sum — what a check's wave of missing records wants. <see cref="MaxRows"/> bounds the whole batch; errors as
    /// <see cref="BuildAsync(string, string, CancellationToken)"/>.
    /// </summary>
    public async Task<IReadOnlyList<RecordContent>> BuildAsync(IReadOnlyList<(string Type, string Id)> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var definitions = new TypeDefinition[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var (type, id) = records[i];
            ArgumentNullException.ThrowIfNull(type);
            ArgumentNullException.ThrowIfNull(id);
            definitions[i] = _schema.TryGetType(type, out var definition)
                ? definition
                : throw AuthzException.Invalid($"type '{type}' is not defined in the schema");
        }

        var described = records.Count == 0 ? "no record" : records.Count == 1 ? $"the record of {records[0].Type}:{records[0].Id}"
            : $"the records of {records[0].Type}:{records[0].Id} and {records.Count - 1} more";
        var reads = new Reads(_index, MaxRows, described, cancellationToken);
        var objects = records.Where(r => r.Id != Identifiers.Wildcard).Select(r => new ObjectRef(r.Type, r.Id)).Distinct().ToList();
        var own = objects.Count == 0 ? [] : await reads.ByResourcesAsync(objects, null).ConfigureAwait(false);
        var parents = await AncestorEdgesAsync(objects, own, reads).ConfigureAwait(false);

        // Every closure asked for: a wildcard's, an object's, and those of the object's own subject sets that can be in
        // a closure (of membership-indexed relations).
        var starts = new List<SubjectRef>();
        for (var i = 0; i < records.Count; i++)
        {
            var (type, id) = records[i];
            starts.Add(new SubjectRef(type, id));
            if (id != Identifiers.Wildcard)
            {
                starts.AddRange(IndexedSets(definitions[i]).Select(r => new SubjectRef(type, id, r.Name)));
            }
        }

        var memberships = await MembershipEdgesAsync(starts, reads).ConfigureAwait(false);
        var contents = new RecordContent[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var (type, id) = records[i];
            var content = contents[i] = new RecordContent(type, id, _index.Revision);
            content.Reach.AddRange(Names(Reach(memberships, new SubjectRef(type, id))));
            if (id == Identifiers.Wildcard)
            {
                continue;
            }

            var self = new ObjectRef(type, id);
            AddRelations(content, definitions[i], self, own);
            content.Ancestors.AddRange(Names(Reach(parents, self)));
            foreach (var set in IndexedSets(definitions[i]))
            {
                if (Reach(memberships, new SubjectRef(type, id, set.Name)) is { Count: > 0 } reach)
                {
                    content.SubjectSetReach[set.Name] = Names(reach);
                }
            }
        }

        return contents;
    }

    private static IEnumerable<RelationDefinition> IndexedSets(TypeDefinition type) =>
        type.Members.OfType<RelationDefinition>().Where(r => r.IsMembershipIndexed);

    // The relation lines: every stored subject, expired ones too with their expiry (a check judges them by its clock).
    private static void AddRelations(RecordContent content, TypeDefinition definition, ObjectRef self, IReadOnlyList<Relationship> own)
    {
        foreach (var row in own)
        {
            if (row.Resource == self && definition.TryGetMember(row.Relation, out var member) && member is RelationDefinition)
            {
                if (!content.Relations.TryGetValue(member.Name, out var subjects))
                {
                    content.Relations[member.Name] = subjects = [];
                }

                subjects.Add(GraphRecordCodec.WithExpiry(row.Subject.ToString(), row.ExpiresAt));
            }
        }

        foreach (var subjects in content.Relations.Values)
        {
            subjects.Sort(StringComparer.Ordinal);
        }
    }

    // The ancestor edges (object → the object a relationship on a relation arrows walk names) reachable from `objects`,
    // whose own relationships `own` are, read a level at a time by resource. Expiring and caveated relationships are
    // edges too, as in the engine's ancestor index.
    private async Task<Dictionary<ObjectRef, List<ObjectRef>>> AncestorEdgesAsync(List<ObjectRef> objects, IReadOnlyList<Relationship> own, Reads reads)
    {
        var edges = new Dictionary<ObjectRef, List<ObjectRef>>();
        var expanded = objects.ToHashSet();
        var next = new List<ObjectRef>();
        Follow(own);
        while (next.Where(o => _arrowRelations.ContainsKey(o.Type) && expanded.Add(o)).ToList() is { Count: > 0 } level)
        {
            next.Clear();
            var relations = level.Select(o => o.Type).Distinct(StringComparer.Ordinal).SelectMany(t => _arrowRelations[t]).Distinct(StringComparer.Ordinal).ToList();
            Follow(await reads.ByResourcesAsync(level, relations).ConfigureAwait(false));
        }

        return edges;

        void Follow(IReadOnlyList<Relationship> rows)
        {
            foreach (var row in rows)
            {
                if (Relation(row) is { IsArrowSource: true })
                {
                    Add(edges, row.Resource, row.Subject.Object);
                    next.Add(row.Subject.Object);
                }
            }
        }
    }

    // The membership edges (subject → the subject set `resource#relation` it is stored in, on a membership-indexed
    // relation) reachable from `starts`, read a level at a time by subject. Expiring and caveated memberships never
    // occur here: a relation admitting one is not membership-indexed.
    private async Task<Dictionary<SubjectRef, List<SubjectRef>>> MembershipEdgesAsync(IReadOnlyList<SubjectRef> starts, Reads reads)
    {
        var edges = new Dictionary<SubjectRef, List<SubjectRef>>();
        var visited = new HashSet<SubjectRef>();
        var level = starts.Where(s => visited.Add(s) && CanBeMember(s)).ToList();
        while (level.Count > 0)
        {
            var asked = level.ToHashSet();
            level = [];
            foreach (var row in await reads.BySubjectsAsync(asked, _indexedRelations).ConfigureAwait(false))
            {
                if (Relation(row) is not { IsMembershipIndexed: true } || !asked.Contains(row.Subject))
                {
                    continue;
                }

                var set = new SubjectRef(row.Resource.Type, row.Resource.Id, row.Relation);
                Add(edges, row.Subject, set);
                if (visited.Add(set) && CanBeMember(set))
                {
                    level.Add(set);
                }
            }
        }

        return edges;
    }

    private static void Add<T>(Dictionary<T, List<T>> edges, T from, T to)
        where T : notnull
    {
        if (!edges.TryGetValue(from, out var targets))
        {
            edges[from] = targets = [];
        }

        targets.Add(to);
    }

    // Every node reachable from `start` by one or more edges (itself only around a cycle), as the engine's closures hold.
    private static HashSet<T> Reach<T>(Dictionary<T, List<T>> edges, T start)
        where T : notnull
    {
        var reached = new HashSet<T>();
        var pending = new Stack<T>();
        pending.Push(start);
        while (pending.TryPop(out var node))
        {
            foreach (var next in edges.GetValueOrDefault(node) ?? [])
            {
                if (reached.Add(next))
                {
                    pending.Push(next);
                }
            }
        }

        return reached;
    }

    // Nodes as a record names them, in its order.
    private static List<string> Names<T>(IEnumerable<T> nodes) => [.. nodes.Select(n => n!.ToString()!).Order(StringComparer.Ordinal)];

    private bool CanBeMember(SubjectRef subject) =>
        _memberShapes.Contains((subject.Type, subject.IsSubjectSet ? subject.Relation : null, subject.IsWildcard));

    // The schema's relation a stored relationship is on; null when the schema has no such relation.
    private RelationDefinition? Relation(Relationship row) =>
        _schema.TryGetType(row.Resource.Type, out var type) && type.TryGetMember(row.Relation, out var member) ? member as RelationDefinition : null;

    /// <summary>The reads of one record, counted against its budget.</summary>
    private sealed class Reads(IRelationshipIndex index, int maxRows, string described, CancellationToken cancellationToken)
    {
        private int _rows;

        public async Task<IReadOnlyList<Relationship>> ByResourcesAsync(IReadOnlyCollection<ObjectRef> resources, IReadOnlyCollection<string>? relations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Counted(await index.ReadByResourcesAsync(resources, relations, maxRows - _rows + 1, cancellationToken).ConfigureAwait(false));
        }

        public async Task<IReadOnlyList<Relationship>> BySubjectsAsync(IReadOnlyCollection<SubjectRef> subjects, IReadOnlyCollection<string> relations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return Counted(await index.ReadBySubjectsAsync(subjects, relations, maxRows - _rows + 1, cancellationToken).ConfigureAwait(false));
        }

        private IReadOnlyList<Relationship> Counted(IReadOnlyList<Relationship> rows)
        {
            _rows += rows.Count;
            if (_rows > maxRows)
            {
                throw new AuthzException(
                    AuthzErrorKind.ResourceExhausted,
                    $"computing {described} reads more than {maxRows} relationships: too large to compute on demand");
            }

            return rows;
        }
    }
}
