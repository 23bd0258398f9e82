using System.Collections.Immutable;
using AuthzGrpc.Core.Caveats;

namespace AuthzGrpc.Core.Engine;

internal enum NodeKind : byte
{
    Object,
    SubjectSet,
    Wildcard,
}

/// <summary>
/// An interned object, subject set (<c>object#member</c>) or wildcard (<c>type:*</c>): what it is never changes once
/// it is interned, so every version of the graph shares one table of them.
/// </summary>
internal struct Node
{
    public NodeKind Kind;
    public int Type;
    public string Id;

    /// <summary>The object node (itself for an object; the object of a subject set).</summary>
    public int Object;

    /// <summary>Member index of a subject set; -1 otherwise.</summary>
    public int Member;

    /// <summary>
    /// For objects: the interned subject-set node per member index (-1 where none). Slots are filled in once, by the
    /// writer; a version ignores nodes interned after it (see <see cref="RelationshipGraph.FindSubjectSet"/>).
    /// </summary>
    public int[]? SubjectSets;
}

/// <summary>What one version of the graph stores about a node.</summary>
internal sealed class NodeRelationships : INodeEntry<NodeRelationships>
{
    private readonly WriteEdit _owner;

    private NodeRelationships(WriteEdit owner) => _owner = owner;

    /// <summary>For objects holding relationships: the relation sets by member index, up to the last relation.</summary>
    public RelationSet?[]? Relations;

    /// <summary>Subject-set nodes (<c>resource#relation</c>) whose relation set lists this node directly.</summary>
    public NodeSet AppearsIn;

    public static NodeRelationships Owned(NodeRelationships? entry, WriteEdit edit) =>
        entry?._owner == edit ? entry
        : new NodeRelationships(edit) { Relations = (RelationSet?[]?)entry?.Relations?.Clone(), AppearsIn = entry?.AppearsIn ?? default };
}

/// <summary>The subjects stored on one <c>object#relation</c>.</summary>
internal sealed class RelationSet
{
    private readonly WriteEdit _owner;

    private RelationSet(int node, WriteEdit owner)
    {
        Node = node;
        _owner = owner;
    }

    /// <summary>The subject-set node standing for this <c>object#relation</c>.</summary>
    public readonly int Node;

    /// <summary>Every direct subject: objects, subject sets and wildcards.</summary>
    public NodeSet Subjects;

    /// <summary>The subject sets among <see cref="Subjects"/> whose membership is precomputed.</summary>
    public NodeSet IndexedSets;

    /// <summary>
    /// The subject sets among <see cref="Subjects"/> that must be evaluated (they name a permission, or a relation whose
    /// membership is not precomputed, or the relationship expires).
    /// </summary>
    public NodeSet ComputedSets;

    /// <summary>
    /// The expiring subjects among <see cref="Subjects"/>, with the instant (UTC ticks) each stops counting; null when
    /// none expires. Immutable, so versions share it; only relations <c>with expiration</c> ever have one.
    /// </summary>
    public ImmutableDictionary<int, long>? Expiring;

    /// <summary>
    /// The caveated subjects among <see cref="Subjects"/>, with the caveat each holds under; null when none has one.
    /// Immutable, so versions share it; only relations allowing a subject type <c>with</c> a caveat ever have one.
    /// </summary>
    public ImmutableDictionary<int, BoundCaveat>? Caveated;

    /// <summary>Whether the stored subject <paramref name="node"/> holds only under a caveat.</summary>
    public bool IsCaveated(int node) => Caveated is not null && Caveated.ContainsKey(node);

    /// <summary>Whether the stored subject <paramref name="node"/> still counts at <paramref name="now"/> (UTC ticks).</summary>
    public bool Alive(int node, long now) => Expiring is null || !Expiring.TryGetValue(node, out var expiresAt) || expiresAt > now;

    /// <summary>This set when <paramref name="edit"/> owns it, else a copy it owns.</summary>
    public RelationSet Mutable(WriteEdit edit) => _owner == edit ? this
        : new RelationSet(Node, edit) { Subjects = Subjects, IndexedSets = IndexedSets, ComputedSets = ComputedSets, Expiring = Expiring, Caveated = Caveated };

    /// <summary>A new empty set for the subject-set node <paramref name="node"/>.</summary>
    public static RelationSet Create(int node, WriteEdit edit) => new(node, edit);
}

/// <summary>A relationship whose names are resolved against the schema.</summary>
internal readonly record struct ResolvedRelationship(
    TypeDefinition ResourceType, string ResourceId, RelationDefinition Relation,
    TypeDefinition SubjectType, string SubjectId, MemberDefinition? SubjectRelation, long? ExpiresAt = null, BoundCaveat? Caveat = null)
{
    public bool IsWildcard => SubjectId == Identifiers.Wildcard;
}

/// <summary>
/// One version of every stored relationship, interned to integer nodes, with the two precomputed closures: subject →
/// the groups it is in (<see cref="Membership"/>) and resource → its ancestors (<see cref="Ancestors"/>).
/// A published version never changes, so readers need no lock: a write starts the next version with <see cref="Edit"/>,
/// which copies only the per-node entries and sets it changes and shares the rest, and publishes it when done.
/// </summary>
/// <remarks>
/// Nodes are never removed, so all versions share one append-only table of them: a version sees the first
/// <see cref="NodeCount"/>, and the lookups that find a node (by id, wildcard or subject set) ignore any interned after it.
/// </remarks>
internal sealed class RelationshipGraph
{
    private readonly NodeTable _table;
    private readonly NodeVector<NodeRelationships> _relationships;
    private WriteEdit? _edit;
    private NodeChunks _nodes;

    public RelationshipGraph(CompiledSchema schema)
        : this(schema, new NodeTable(schema.Types.Count), new NodeVector<NodeRelationships>(), new ReachabilityIndex(), new ReachabilityIndex(), null)
    {
    }

    private RelationshipGraph(
        CompiledSchema schema, NodeTable table, NodeVector<NodeRelationships> relationships, ReachabilityIndex membership, ReachabilityIndex ancestors,
        WriteEdit? edit)
    {
        Schema = schema;
        _table = table;
        _nodes = table.Nodes;
        NodeCount = table.Count;
        _relationships = relationships;
        Membership = membership;
        Ancestors = ancestors;
        _edit = edit;
    }

    public CompiledSchema Schema { get; }

    /// <summary>The revision this version is the state of.</summary>
    public long Revision { get; private set; }

    public int NodeCount { get; private set; }

    public int RelationshipCount { get; private set; }

    /// <summary>Subject (object, subject set or wildcard) → the membership-indexed subject sets it is in, transitively.</summary>
    public ReachabilityIndex Membership { get; }

    /// <summary>Object → the objects reachable through relations that arrows walk (its parents, their parents, ...).</summary>
    public ReachabilityIndex Ancestors { get; }

    public ref readonly Node this[int node] => ref _nodes[node];

    /// <summary>
    /// The next version, which <paramref name="edit"/> changes with <see cref="Add"/> and <see cref="Remove"/> until it
    /// is published. Writers must be serialized: the versions share the node table and the closures' edge counts.
    /// </summary>
    public RelationshipGraph Edit(WriteEdit edit) =>
        new(Schema, _table, _relationships.Edit(edit), Membership.Edit(edit), Ancestors.Edit(edit), edit)
        {
            Revision = Revision,
            RelationshipCount = RelationshipCount,
        };

    /// <summary>Ends the changes of this version, the state of <paramref name="revision"/>: it is about to be published.</summary>
    public void Seal(long revision)
    {
        Editing();
        Revision = revision;
        _relationships.Seal();
        Membership.Seal();
        Ancestors.Seal();
        _edit = null;
    }

    public int FindObject(int type, string id) => _table.Objects.Find(type, id, _nodes, NodeCount);

    public int FindWildcard(int type)
    {
        var node = Volatile.Read(ref _table.Wildcards[type]);
        return node < NodeCount ? node : -1;
    }

    public int FindSubjectSet(int objectNode, int member)
    {
        if (objectNode < 0)
        {
            return -1;
        }

        var sets = Volatile.Read(ref _nodes[objectNode].SubjectSets);
        var node = sets is null ? -1 : Volatile.Read(ref sets[member]);
        return node < NodeCount ? node : -1;
    }

    public RelationSet? FindRelationSet(int objectNode, int relation) =>
        objectNode >= 0 && _relationships[objectNode]?.Relations is { } relations && (uint)relation < (uint)relations.Length ? relations[relation] : null;

    /// <summary>
    /// The relation sets of an object by member index, up to its type's last relation; null when it holds no relationships.
    /// </summary>
    public RelationSet?[]? RelationsOf(int objectNode) => _relationships[objectNode]?.Relations;

    /// <summary>Subject-set nodes whose relation set lists <paramref name="node"/> directly.</summary>
    public NodeSet AppearsIn(int node) => _relationships[node]?.AppearsIn ?? default;

    /// <summary>
    /// Resolves the names of <paramref name="relationship"/> against the schema. Its expiry must match the subject type's
    /// trait (<c>with expiration</c> or not), as in SpiceDB — except for a delete (<paramref name="forDelete"/>), which
    /// addresses the stored fact whatever its expiry.
    /// </summary>
    public ResolvedRelationship Resolve(Relationship relationship, bool forDelete = false) => Resolve(Schema, relationship, forDelete);

    /// <summary>
    /// Resolves <paramref name="relationship"/> against <paramref name="schema"/> alone (no stored relationship is
    /// needed): what every write and <see cref="CompiledSchema.ValidateRelationship"/> refuse, refused here once.
    /// </summary>
    public static ResolvedRelationship Resolve(CompiledSchema schema, Relationship relationship, bool forDelete = false)
    {
        if (!schema.TryGetType(relationship.Resource.Type, out var resourceType))
        {
            throw AuthzException.Invalid($"{relationship}: resource type '{relationship.Resource.Type}' is not defined in the schema");
        }

        if (!resourceType.TryGetMember(relationship.Relation, out var member))
        {
            throw AuthzException.Invalid($"{relationship}: '{relationship.Relation}' is not a relation of '{resourceType.Name}'");
        }

        if (member is not RelationDefinition relation)
        {
            throw AuthzException.Invalid($"{relationship}: '{resourceType.Name}#{member.Name}' is a permission; relationships can only be written to relations");
        }

        if (!Identifiers.IsValidId(relationship.Resource.Id))
        {
            throw AuthzException.Invalid($"{relationship}: resource id is not valid: use 1 to {Identifiers.MaxIdLength} of A-Z a-z 0-9 _ - . / | = +");
        }

        var subject = relationship.Subject;
        if (!schema.TryGetType(subject.Type, out var subjectType))
        {
            throw AuthzException.Invalid($"{relationship}: subject type '{subject.Type}' is not defined in the schema");
        }

        if (!subject.IsWildcard && !Identifiers.IsValidId(subject.Id))
        {
            throw AuthzException.Invalid($"{relationship}: subject id is not valid: use 1 to {Identifiers.MaxIdLength} of A-Z a-z 0-9 _ - . / | = +");
        }

        MemberDefinition? subjectRelation = null;
        if (subject.IsSubjectSet)
        {
            if (subject.IsWildcard)
            {
                throw AuthzException.Invalid($"{relationship}: a wildcard subject cannot name a relation");
            }

            if (!subjectType.TryGetMember(subject.Relation!, out subjectRelation))
            {
                throw AuthzException.Invalid($"{relationship}: '{subject.Relation}' is not a relation or permission of '{subjectType.Name}'");
            }
        }

        var expiring = relationship.ExpiresAt is not null;
        var caveatName = relationship.Caveat?.Name;
        var allowed = relation.Allows(subjectType, subjectRelation, subject.IsWildcard, expiring, caveatName)
            || (forDelete && relation.AllowedSubjects.Any(a => a.Type == subjectType && a.Relation == subjectRelation && a.Wildcard == subject.IsWildcard));
        if (!allowed)
        {
            var shape = (subject.IsWildcard ? $"{subjectType.Name}:*" : subjectRelation is null ? subjectType.Name : $"{subjectType.Name}#{subjectRelation.Name}")
                + (caveatName, expiring) switch
                {
                    (null, false) => string.Empty,
                    (null, true) => " with expiration",
                    (_, false) => $" with {caveatName}",
                    _ => $" with {caveatName} and expiration",
                };
            throw AuthzException.Invalid($"{relationship}: relation '{relation}' does not allow subjects of type '{shape}'; it allows {string.Join(", ", relation.AllowedSubjects)}");
        }

        return new ResolvedRelationship(
            resourceType, relationship.Resource.Id, relation, subjectType, subject.Id, subjectRelation, relationship.ExpiresAt?.UtcTicks,
            forDelete || relationship.Caveat is not { } caveat ? null : Bind(schema, relationship, caveat));
    }

    // The written caveat resolved against the schema (Allows has found it defined), its context refused when it names
    // a parameter the caveat does not declare (a misspelt name would otherwise be ignored and leave the check undecided).
    private static BoundCaveat Bind(CompiledSchema schema, Relationship relationship, RelationshipCaveat caveat)
    {
        var compiled = schema.Caveats[caveat.Name];
        foreach (var name in caveat.Context.Names)
        {
            if (!compiled.Parameters.Any(p => p.Name == name))
            {
                throw AuthzException.Invalid(
                    $"{relationship}: caveat '{caveat.Name}' has no parameter '{name}'; it has {string.Join(", ", compiled.Parameters.Select(p => $"{p.Name} {p.Type}"))}");
            }
        }

        try
        {
            compiled.CheckContext(caveat.Context);
        }
        catch (CaveatException e)
        {
            throw AuthzException.Invalid($"{relationship}: {e.Message}");
        }

        return new BoundCaveat(compiled, caveat.Context);
    }

    /// <summary>Whether the relationship is stored and, at <paramref name="now"/> (UTC ticks), has not expired.</summary>
    public bool Contains(in ResolvedRelationship r, long now)
    {
        var set = FindRelationSet(FindObject(r.ResourceType.Index, r.ResourceId), r.Relation.Index);
        var subject = FindSubjectNode(r);
        return set is not null && subject >= 0 && set.Subjects.Contains(subject) && set.Alive(subject, now);
    }

    // Whether the relationship is stored, expired or not, and with which expiry (UTC ticks; null: none) and caveat.
    private bool IsStored(in ResolvedRelationship r, out long? expiresAt, out BoundCaveat? caveat)
    {
        var set = FindRelationSet(FindObject(r.ResourceType.Index, r.ResourceId), r.Relation.Index);
        var subject = FindSubjectNode(r);
        expiresAt = set?.Expiring is { } expiring && expiring.TryGetValue(subject, out var ticks) ? ticks : null;
        caveat = set?.Caveated is { } caveated && caveated.TryGetValue(subject, out var bound) ? bound : null;
        return set is not null && subject >= 0 && set.Subjects.Contains(subject);
    }

    /// <summary>Stores the relationship, or gives the stored one the new expiry and caveat; false when it was stored just so.</summary>
    public bool Add(in ResolvedRelationship r)
    {
        // Checked first, so that touching a stored relationship interns and copies nothing.
        if (IsStored(r, out var storedExpiry, out var storedCaveat))
        {
            if (storedExpiry == r.ExpiresAt && Equals(storedCaveat?.Describe(), r.Caveat?.Describe()))
            {
                return false;
            }

            // A new expiry or caveat (or none): taken out and put back, so it moves between the indexed and evaluated sets.
            Remove(r);
        }

        var edit = Editing();
        var resource = InternObject(r.ResourceType.Index, r.ResourceId);
        var subject = r.IsWildcard ? InternWildcard(r.SubjectType.Index)
            : r.SubjectRelation is null ? InternObject(r.SubjectType.Index, r.SubjectId)
            : InternSubjectSet(InternObject(r.SubjectType.Index, r.SubjectId), r.SubjectRelation.Index);
        var setNode = InternSubjectSet(resource, r.Relation.Index);
        var relations = _relationships.Owned(resource).Relations ??= new RelationSet?[r.ResourceType.RelationSlots];
        var set = relations[r.Relation.Index] = relations[r.Relation.Index]?.Mutable(edit) ?? RelationSet.Create(setNode, edit);
        Link(r, resource, subject, set, edit, present: true);
        return true;
    }

    public bool Remove(in ResolvedRelationship r)
    {
        if (!IsStored(r, out _, out _))
        {
            return false;
        }

        var edit = Editing();
        var resource = FindObject(r.ResourceType.Index, r.ResourceId);
        var subject = FindSubjectNode(r);
        var relations = _relationships.Owned(resource).Relations!;
        var set = relations[r.Relation.Index] = relations[r.Relation.Index]!.Mutable(edit);
        Link(r, resource, subject, set, edit, present: false);
        return true;
    }

    // Puts the subject in (present) or takes it out of everything a relationship stands in: the relation's subjects
    // and its split of subject sets, the sets the subject appears in, the membership closure, the ancestors arrows walk.
    private void Link(in ResolvedRelationship r, int resource, int subject, RelationSet set, WriteEdit edit, bool present)
    {
        set.Subjects.Set(subject, present, edit);
        var expiresAt = present ? r.ExpiresAt : set.Expiring is { } expiring && expiring.TryGetValue(subject, out var stored) ? stored : null;
        if (present && expiresAt is { } ticks)
        {
            set.Expiring = (set.Expiring ?? ImmutableDictionary<int, long>.Empty).SetItem(subject, ticks);
        }
        else if (!present && expiresAt is not null)
        {
            set.Expiring = set.Expiring!.Count == 1 ? null : set.Expiring.Remove(subject);
        }

        var caveat = present ? r.Caveat : set.Caveated is { } caveated && caveated.TryGetValue(subject, out var bound) ? bound : null;
        if (present && caveat is not null)
        {
            set.Caveated = (set.Caveated ?? ImmutableDictionary<int, BoundCaveat>.Empty).SetItem(subject, caveat);
        }
        else if (!present && caveat is not null)
        {
            set.Caveated = set.Caveated!.Count == 1 ? null : set.Caveated.Remove(subject);
        }

        // A membership that expires or holds under a caveat is evaluated at each check, never folded into the
        // precomputed closure.
        if (r.SubjectRelation is RelationDefinition { IsMembershipIndexed: true } && expiresAt is null && caveat is null)
        {
            set.IndexedSets.Set(subject, present, edit);
        }
        else if (r.SubjectRelation is not null)
        {
            set.ComputedSets.Set(subject, present, edit);
        }

        _relationships.Owned(subject).AppearsIn.Set(set.Node, present, edit);
        if (r.Relation.IsMembershipIndexed)
        {
            Membership.SetEdge(subject, set.Node, present);
        }

        if (r.Relation.IsArrowSource)
        {
            Ancestors.SetEdge(resource, _nodes[subject].Object, present);
        }

        RelationshipCount += present ? 1 : -1;
    }

    /// <summary>Every stored relationship not expired at <paramref name="now"/> (UTC ticks), in no particular order.</summary>
    public IEnumerable<Relationship> All(long now)
    {
        for (var node = 0; node < NodeCount; node++)
        {
            var relations = RelationsOf(node);
            if (relations is null)
            {
                continue;
            }

            for (var member = 0; member < relations.Length; member++)
            {
                var set = relations[member];
                if (set is null)
                {
                    continue;
                }

                foreach (var relationship in RelationshipsOfSet(set.Node, now))
                {
                    yield return relationship;
                }
            }
        }
    }

    /// <summary>
    /// The relationships <paramref name="filter"/> selects that have not expired at <paramref name="now"/> (UTC ticks),
    /// starting from the narrowest index it allows.
    /// </summary>
    public IEnumerable<Relationship> Select(RelationshipFilter filter, long now)
    {
        if (!Schema.TryGetType(filter.ResourceType, out var type))
        {
            return [];
        }

        if (filter.ResourceId is not null)
        {
            var node = FindObject(type.Index, filter.ResourceId);
            return node < 0 ? [] : RelationshipsOf(node, now).Where(filter.Matches);
        }

        if (filter.Subject is { Id: not null } subject && Schema.TryGetType(subject.Type, out var subjectType))
        {
            var subjectNode = subject.Id == Identifiers.Wildcard ? FindWildcard(subjectType.Index) : FindObject(subjectType.Index, subject.Id);
            if (subjectNode < 0)
            {
                return [];
            }

            // The subject itself and every subject set of it (alice, and group:eng#member for group:eng).
            var nodes = new List<int> { subjectNode };
            for (var member = 0; member < subjectType.Members.Count; member++)
            {
                if (FindSubjectSet(subjectNode, member) is var set and >= 0)
                {
                    nodes.Add(set);
                }
            }

            return nodes
                .SelectMany(n => AppearsIn(n).ToArray())
                .SelectMany(set => RelationshipsOfSet(set, now))
                .Where(filter.Matches)
                .Distinct();
        }

        return All(now).Where(filter.Matches);
    }

    private IEnumerable<Relationship> RelationshipsOf(int node, long now)
    {
        var relations = RelationsOf(node);
        if (relations is null)
        {
            yield break;
        }

        foreach (var set in relations)
        {
            if (set is not null)
            {
                foreach (var relationship in RelationshipsOfSet(set.Node, now))
                {
                    yield return relationship;
                }
            }
        }
    }

    // Every relationship stored on the relation set that subject-set node stands for, with its expiry, but for those
    // expired at `now`.
    private IEnumerable<Relationship> RelationshipsOfSet(int setNode, long now)
    {
        ref readonly var node = ref _nodes[setNode];
        var set = FindRelationSet(node.Object, node.Member);
        if (set is null)
        {
            return [];
        }

        var resource = DescribeObject(node.Object);
        var relation = Schema.Types[node.Type].Members[node.Member].Name;
        return set.Subjects.ToArray()
            .Where(subject => set.Alive(subject, now))
            .Select(subject => new Relationship(resource, relation, DescribeSubject(subject))
            {
                ExpiresAt = set.Expiring is { } expiring && expiring.TryGetValue(subject, out var ticks) ? new DateTimeOffset(ticks, TimeSpan.Zero) : null,
                Caveat = set.Caveated is { } caveated && caveated.TryGetValue(subject, out var caveat) ? caveat.Describe() : null,
            });
    }

    public ObjectRef DescribeObject(int node) => new(Schema.Types[_nodes[node].Type].Name, _nodes[_nodes[node].Object].Id);

    public SubjectRef DescribeSubject(int node)
    {
        ref readonly var n = ref _nodes[node];
        var type = Schema.Types[n.Type];
        return n.Kind switch
        {
            NodeKind.Wildcard => new SubjectRef(type.Name, Identifiers.Wildcard),
            NodeKind.SubjectSet => new SubjectRef(type.Name, _nodes[n.Object].Id, type.Members[n.Member].Name),
            _ => new SubjectRef(type.Name, n.Id),
        };
    }

    private int FindSubjectNode(in ResolvedRelationship r) =>
        r.IsWildcard ? FindWildcard(r.SubjectType.Index)
        : r.SubjectRelation is null ? FindObject(r.SubjectType.Index, r.SubjectId)
        : FindSubjectSet(FindObject(r.SubjectType.Index, r.SubjectId), r.SubjectRelation.Index);

    private WriteEdit Editing() => _edit ?? throw new InvalidOperationException("a published version cannot change: start the next with Edit");

    private int InternObject(int type, string id)
    {
        var node = FindObject(type, id);
        if (node >= 0)
        {
            return node;
        }

        node = NewNode(new Node { Kind = NodeKind.Object, Type = type, Id = id, Member = -1 });
        _nodes[node].Object = node;
        _table.Objects.Add(type, node, _nodes);
        return node;
    }

    private int InternWildcard(int type)
    {
        var node = FindWildcard(type);
        if (node < 0)
        {
            node = NewNode(new Node { Kind = NodeKind.Wildcard, Type = type, Id = Identifiers.Wildcard, Object = -1, Member = -1 });
            Volatile.Write(ref _table.Wildcards[type], node);
        }

        return node;
    }

    private int InternSubjectSet(int objectNode, int member)
    {
        var node = FindSubjectSet(objectNode, member);
        if (node >= 0)
        {
            return node;
        }

        ref var owner = ref _nodes[objectNode];
        var sets = owner.SubjectSets;
        if (sets is null)
        {
            sets = new int[Schema.Types[owner.Type].Members.Count];
            Array.Fill(sets, -1);
            Volatile.Write(ref owner.SubjectSets, sets);
        }

        node = NewNode(new Node { Kind = NodeKind.SubjectSet, Type = owner.Type, Id = owner.Id, Object = objectNode, Member = member });
        Volatile.Write(ref sets[member], node);
        return node;
    }

    // Appends to the table shared by every version, past every published version's count.
    private int NewNode(Node node)
    {
        Editing();
        var index = _table.Append(node);
        _nodes = _table.Nodes;
        NodeCount = _table.Count;
        return index;
    }
}
