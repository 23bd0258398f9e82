namespace AuthzGrpc.Core.Graph;

/// <summary>
/// Computes the record of one object (or of a type's wildcard) from relationships read on demand from an
/// <see cref="IRelationshipIndex"/>: exactly what <see cref="PermissionEngine.DescribeRecord(string, string)"/> gives for the same
/// relationships, without holding them all. It walks level by level, one batched read per level: the object's own
/// relationships (its relation lines, and the first level of its ancestors); then its ancestors, a level at a time, by
/// resource over the relations arrows walk; then the subject sets the object and its own subject sets are in, a level
/// at a time, by subject over the membership-indexed relations. A level holding only types that can have no such
/// relationship is not read. Work is bounded: past <see cref="MaxRows"/> relationships read for one record it fails
/// with <see cref="AuthzErrorKind.ResourceExhausted"/>, never with a partial record.
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

    /// <summary>How many relationships computing one record may read before it fails (ResourceExhausted).</summary>
    public int MaxRows { get; }

    /// <summary>
    /// The record of <paramref name="type"/>:<paramref name="id"/> (<c>*</c> for the type's wildcard) at the index's
    /// revision; empty when nothing is stored about it. Throws <see cref="AuthzException"/> — InvalidArgument for a type
    /// the schema does not define, ResourceExhausted past <see cref="MaxRows"/> — and
    /// <see cref="OperationCanceledException"/> once <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async Task<RecordContent> BuildAsync(string type, string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentNullException.ThrowIfNull(id);
        if (!_schema.TryGetType(type, out var definition))
        {
            throw AuthzException.Invalid($"type '{type}' is not defined in the schema");
        }

        var reads = new Reads(_index, MaxRows, $"{type}:{id}", cancellationToken);
        var content = new RecordContent(type, id, _index.Revision);
        if (id == Identifiers.Wildcard)
        {
            var wildcard = new SubjectRef(type, id);
            content.Reach.AddRange(Reach(await MembershipEdgesAsync([wildcard], reads).ConfigureAwait(false), wildcard));
            return content;
        }

        var self = new ObjectRef(type, id);
        var own = await reads.ByResourcesAsync([self], null).ConfigureAwait(false);
        AddRelations(content, definition, self, own);
        content.Ancestors.AddRange(await AncestorsAsync(self, own, reads).ConfigureAwait(false));

        // The object's own subject sets that can be in a closure: those of membership-indexed relations.
        var sets = definition.Members.OfType<RelationDefinition>().Where(r => r.IsMembershipIndexed).ToList();
        var subject = new SubjectRef(type, id);
        var edges = await MembershipEdgesAsync([subject, .. sets.Select(r => new SubjectRef(type, id, r.Name))], reads).ConfigureAwait(false);
        content.Reach.AddRange(Reach(edges, subject));
        foreach (var set in sets)
        {
            if (Reach(edges, new SubjectRef(type, id, set.Name)) is { Count: > 0 } reach)
            {
                content.SubjectSetReach[set.Name] = reach;
            }
        }

        return content;
    }

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

    // Every object reachable from `self` by one or more relationships on relations arrows walk (itself only around a
    // cycle), as the engine's ancestor index holds them: expiring and caveated relationships count, as there.
    private async Task<List<string>> AncestorsAsync(ObjectRef self, IReadOnlyList<Relationship> own, Reads reads)
    {
        var reached = new HashSet<ObjectRef>();
        var expanded = new HashSet<ObjectRef> { self };
        var next = new List<ObjectRef>();
        Follow(own);
        while (next.Where(o => _arrowRelations.ContainsKey(o.Type) && expanded.Add(o)).ToList() is { Count: > 0 } level)
        {
            next.Clear();
            var relations = level.Select(o => o.Type).Distinct(StringComparer.Ordinal).SelectMany(t => _arrowRelations[t]).Distinct(StringComparer.Ordinal).ToList();
            Follow(await reads.ByResourcesAsync(level, relations).ConfigureAwait(false));
        }

        return [.. reached.Select(o => o.ToString()).Order(StringComparer.Ordinal)];

        void Follow(IReadOnlyList<Relationship> rows)
        {
            foreach (var row in rows)
            {
                if (Relation(row) is { IsArrowSource: true } && reached.Add(row.Subject.Object))
                {
                    next.Add(row.Subject.Object);
                }
            }
        }
    }

    // The membership edges (subject → the subject set `resource#relation` it is stored in, on a membership-indexed
    // relation) reachable from `starts`, read a level at a time. Expiring and caveated memberships never occur here:
    // a relation admitting one is not membership-indexed.
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
                if (!edges.TryGetValue(row.Subject, out var sets))
                {
                    edges[row.Subject] = sets = [];
                }

                sets.Add(set);
                if (visited.Add(set) && CanBeMember(set))
                {
                    level.Add(set);
                }
            }
        }

        return edges;
    }

    // Every subject set reachable from `start` by one or more edges (itself only around a cycle), as the record names them.
    private static List<string> Reach(Dictionary<SubjectRef, List<SubjectRef>> edges, SubjectRef start)
    {
        var reached = new HashSet<SubjectRef>();
        var pending = new Stack<SubjectRef>();
        pending.Push(start);
        while (pending.TryPop(out var node))
        {
            foreach (var set in edges.GetValueOrDefault(node) ?? [])
            {
                if (reached.Add(set))
                {
                    pending.Push(set);
                }
            }
        }

        return [.. reached.Select(s => s.ToString()).Order(StringComparer.Ordinal)];
    }

    private bool CanBeMember(SubjectRef subject) =>
        _memberShapes.Contains((subject.Type, subject.IsSubjectSet ? subject.Relation : null, subject.IsWildcard));

    // The schema's relation a stored relationship is on; null when the schema has no such relation.
    private RelationDefinition? Relation(Relationship row) =>
        _schema.TryGetType(row.Resource.Type, out var type) && type.TryGetMember(row.Relation, out var member) ? member as RelationDefinition : null;

    /// <summary>The reads of one record, counted against its budget.</summary>
    private sealed class Reads(IRelationshipIndex index, int maxRows, string record, CancellationToken cancellationToken)
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
                    $"the record of {record} needs more than {maxRows} relationships read: too large to compute on demand");
            }

            return rows;
        }
    }
}
