using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Engine;

internal enum NodeKind : byte
{
    Object,
    SubjectSet,
    Wildcard,
}

/// <summary>An interned object, subject set (<c>object#member</c>) or wildcard (<c>type:*</c>).</summary>
internal struct Node
{
    public NodeKind Kind;
    public int Type;
    public string Id;

    /// <summary>The object node (itself for an object; the object of a subject set).</summary>
    public int Object;

    /// <summary>Member index of a subject set; -1 otherwise.</summary>
    public int Member;

    /// <summary>For objects holding relationships: the relation sets by member index.</summary>
    public RelationSet?[]? Relations;

    /// <summary>For objects: the interned subject-set node per member index (-1 where none).</summary>
    public int[]? SubjectSets;

    /// <summary>Subject-set nodes (<c>resource#relation</c>) whose relation set lists this node directly.</summary>
    public NodeSet? AppearsIn;
}

/// <summary>The subjects stored on one <c>object#relation</c>.</summary>
internal sealed class RelationSet(int node)
{
    /// <summary>The subject-set node standing for this <c>object#relation</c>.</summary>
    public readonly int Node = node;

    /// <summary>Every direct subject: objects, subject sets and wildcards.</summary>
    public readonly NodeSet Subjects = new();

    /// <summary>The subject sets among <see cref="Subjects"/> whose membership is precomputed.</summary>
    public NodeSet? IndexedSets;

    /// <summary>The subject sets among <see cref="Subjects"/> that must be evaluated (they name a permission).</summary>
    public NodeSet? ComputedSets;
}

/// <summary>A relationship whose names are resolved against the schema.</summary>
internal readonly record struct ResolvedRelationship(
    TypeDefinition ResourceType, string ResourceId, RelationDefinition Relation,
    TypeDefinition SubjectType, string SubjectId, MemberDefinition? SubjectRelation)
{
    public bool IsWildcard => SubjectId == Identifiers.Wildcard;
}

/// <summary>
/// Every stored relationship, interned to integer nodes, with the two precomputed closures: subject → the groups
/// it is in (<see cref="Membership"/>) and resource → its ancestors (<see cref="Ancestors"/>). Not thread-safe:
/// <see cref="PermissionEngine"/> guards it.
/// </summary>
internal sealed class RelationshipGraph
{
    private readonly Dictionary<string, int>[] _objectsByType;
    private readonly int[] _wildcards;
    private Node[] _nodes = new Node[1024];

    public RelationshipGraph(CompiledSchema schema)
    {
        Schema = schema;
        _objectsByType = new Dictionary<string, int>[schema.Types.Count];
        for (var i = 0; i < _objectsByType.Length; i++)
        {
            _objectsByType[i] = new Dictionary<string, int>(StringComparer.Ordinal);
        }

        _wildcards = Enumerable.Repeat(-1, schema.Types.Count).ToArray();
    }

    public CompiledSchema Schema { get; }

    public int NodeCount { get; private set; }

    public int RelationshipCount { get; private set; }

    /// <summary>Subject (object, subject set or wildcard) → the membership-indexed subject sets it is in, transitively.</summary>
    public ReachabilityIndex Membership { get; } = new();

    /// <summary>Object → the objects reachable through relations that arrows walk (its parents, their parents, ...).</summary>
    public ReachabilityIndex Ancestors { get; } = new();

    public ref Node this[int node] => ref _nodes[node];

    public int FindObject(int type, string id) => _objectsByType[type].TryGetValue(id, out var node) ? node : -1;

    public int FindWildcard(int type) => _wildcards[type];

    public int FindSubjectSet(int objectNode, int member)
    {
        if (objectNode < 0)
        {
            return -1;
        }

        var sets = _nodes[objectNode].SubjectSets;
        return sets is null ? -1 : sets[member];
    }

    public RelationSet? FindRelationSet(int objectNode, int relation)
    {
        if (objectNode < 0)
        {
            return null;
        }

        var relations = _nodes[objectNode].Relations;
        return relations?[relation];
    }

    public ResolvedRelationship Resolve(Relationship relationship)
    {
        var schema = Schema;
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

        if (!relation.Allows(subjectType, subjectRelation, subject.IsWildcard))
        {
            var shape = subject.IsWildcard ? $"{subjectType.Name}:*" : subjectRelation is null ? subjectType.Name : $"{subjectType.Name}#{subjectRelation.Name}";
            throw AuthzException.Invalid($"{relationship}: relation '{relation}' does not allow subjects of type '{shape}'; it allows {string.Join(", ", relation.AllowedSubjects)}");
        }

        return new ResolvedRelationship(resourceType, relationship.Resource.Id, relation, subjectType, subject.Id, subjectRelation);
    }

    public bool Contains(in ResolvedRelationship r)
    {
        var resource = FindObject(r.ResourceType.Index, r.ResourceId);
        var set = FindRelationSet(resource, r.Relation.Index);
        var subject = FindSubjectNode(r);
        return set is not null && subject >= 0 && set.Subjects.Contains(subject);
    }

    public bool Add(in ResolvedRelationship r)
    {
        var resource = InternObject(r.ResourceType.Index, r.ResourceId);
        var subject = r.IsWildcard ? InternWildcard(r.SubjectType.Index)
            : r.SubjectRelation is null ? InternObject(r.SubjectType.Index, r.SubjectId)
            : InternSubjectSet(InternObject(r.SubjectType.Index, r.SubjectId), r.SubjectRelation.Index);
        var relations = _nodes[resource].Relations ??= new RelationSet?[r.ResourceType.Members.Count];
        var set = relations[r.Relation.Index] ??= new RelationSet(InternSubjectSet(resource, r.Relation.Index));
        if (!set.Subjects.Add(subject))
        {
            return false;
        }

        if (r.SubjectRelation is not null)
        {
            if (r.SubjectRelation is RelationDefinition { IsMembershipIndexed: true })
            {
                (set.IndexedSets ??= new NodeSet()).Add(subject);
            }
            else
            {
                (set.ComputedSets ??= new NodeSet()).Add(subject);
            }
        }

        (_nodes[subject].AppearsIn ??= new NodeSet()).Add(set.Node);
        if (r.Relation.IsMembershipIndexed)
        {
            Membership.AddEdge(subject, set.Node);
        }

        if (r.Relation.IsArrowSource)
        {
            Ancestors.AddEdge(resource, _nodes[subject].Object);
        }

        RelationshipCount++;
        return true;
    }

    public bool Remove(in ResolvedRelationship r)
    {
        var resource = FindObject(r.ResourceType.Index, r.ResourceId);
        var set = FindRelationSet(resource, r.Relation.Index);
        var subject = FindSubjectNode(r);
        if (set is null || subject < 0 || !set.Subjects.Remove(subject))
        {
            return false;
        }

        set.IndexedSets?.Remove(subject);
        set.ComputedSets?.Remove(subject);
        _nodes[subject].AppearsIn?.Remove(set.Node);
        if (r.Relation.IsMembershipIndexed)
        {
            Membership.RemoveEdge(subject, set.Node);
        }

        if (r.Relation.IsArrowSource)
        {
            Ancestors.RemoveEdge(resource, _nodes[subject].Object);
        }

        RelationshipCount--;
        return true;
    }

    /// <summary>Every stored relationship, in no particular order.</summary>
    public IEnumerable<Relationship> All()
    {
        for (var node = 0; node < NodeCount; node++)
        {
            var relations = _nodes[node].Relations;
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

                foreach (var subject in set.Subjects.ToArray())
                {
                    yield return new Relationship(DescribeObject(node), Schema.Types[_nodes[node].Type].Members[member].Name, DescribeSubject(subject));
                }
            }
        }
    }

    /// <summary>The relationships <paramref name="filter"/> selects, starting from the narrowest index it allows.</summary>
    public IEnumerable<Relationship> Select(RelationshipFilter filter)
    {
        if (!Schema.TryGetType(filter.ResourceType, out var type))
        {
            return [];
        }

        if (filter.ResourceId is not null)
        {
            var node = FindObject(type.Index, filter.ResourceId);
            return node < 0 ? [] : RelationshipsOf(node).Where(filter.Matches);
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
            if (_nodes[subjectNode].SubjectSets is { } sets)
            {
                nodes.AddRange(sets.Where(s => s >= 0));
            }

            return nodes
                .SelectMany(n => _nodes[n].AppearsIn?.ToArray() ?? [])
                .SelectMany(RelationshipsOfSet)
                .Where(filter.Matches)
                .Distinct();
        }

        return All().Where(filter.Matches);
    }

    private IEnumerable<Relationship> RelationshipsOf(int node)
    {
        var relations = _nodes[node].Relations;
        if (relations is null)
        {
            yield break;
        }

        foreach (var set in relations)
        {
            if (set is not null)
            {
                foreach (var relationship in RelationshipsOfSet(set.Node))
                {
                    yield return relationship;
                }
            }
        }
    }

    // Every relationship stored on the relation set that subject-set node stands for.
    private IEnumerable<Relationship> RelationshipsOfSet(int setNode)
    {
        ref var node = ref _nodes[setNode];
        var set = FindRelationSet(node.Object, node.Member);
        if (set is null)
        {
            return [];
        }

        var resource = DescribeObject(node.Object);
        var relation = Schema.Types[node.Type].Members[node.Member].Name;
        return set.Subjects.ToArray().Select(subject => new Relationship(resource, relation, DescribeSubject(subject)));
    }

    public ObjectRef DescribeObject(int node) => new(Schema.Types[_nodes[node].Type].Name, _nodes[_nodes[node].Object].Id);

    public SubjectRef DescribeSubject(int node)
    {
        ref var n = ref _nodes[node];
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

    private int InternObject(int type, string id)
    {
        var objects = _objectsByType[type];
        if (objects.TryGetValue(id, out var node))
        {
            return node;
        }

        node = NewNode(new Node { Kind = NodeKind.Object, Type = type, Id = id, Member = -1 });
        _nodes[node].Object = node;
        objects.Add(id, node);
        return node;
    }

    private int InternWildcard(int type)
    {
        if (_wildcards[type] < 0)
        {
            var node = NewNode(new Node { Kind = NodeKind.Wildcard, Type = type, Id = Identifiers.Wildcard, Member = -1 });
            _nodes[node].Object = -1;
            _wildcards[type] = node;
        }

        return _wildcards[type];
    }

    private int InternSubjectSet(int objectNode, int member)
    {
        ref var owner = ref _nodes[objectNode];
        if (owner.SubjectSets is null)
        {
            owner.SubjectSets = new int[Schema.Types[owner.Type].Members.Count];
            Array.Fill(owner.SubjectSets, -1);
        }

        if (owner.SubjectSets[member] >= 0)
        {
            return owner.SubjectSets[member];
        }

        var type = owner.Type;
        var id = owner.Id;
        var node = NewNode(new Node { Kind = NodeKind.SubjectSet, Type = type, Id = id, Object = objectNode, Member = member });
        _nodes[objectNode].SubjectSets![member] = node;
        return node;
    }

    private int NewNode(Node node)
    {
        if (NodeCount == _nodes.Length)
        {
            Array.Resize(ref _nodes, _nodes.Length * 2);
        }

        _nodes[NodeCount] = node;
        return NodeCount++;
    }
}
