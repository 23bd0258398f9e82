using System.Runtime.CompilerServices;

namespace AuthzGrpc.Core.Engine;

/// <summary>
/// The subject of one evaluation over the engine's graph, resolved once: its node (-1 if never stored), the subject-set
/// member (-1 for an object), its type's wildcard node, and the precomputed sets it belongs to.
/// </summary>
internal readonly struct SubjectContext(int node, int objectNode, int member, int wildcardNode, NodeSet reach, NodeSet wildcardReach, bool sameUnknownObject)
{
    public readonly int Node = node;
    public readonly int ObjectNode = objectNode;
    public readonly int Member = member;
    public readonly int WildcardNode = wildcardNode;
    public readonly NodeSet Reach = reach;
    public readonly NodeSet WildcardReach = wildcardReach;

    // The resource was never stored and is the object of this subject set (a set always contains itself).
    public readonly bool SameUnknownObject = sameUnknownObject;
}

/// <summary>
/// One published version of the engine's graph as the plan evaluator reads it at the instant <paramref name="now"/>
/// (UTC ticks; relationships expired by then count for nothing): objects are nodes (-1 for an object never stored, which
/// holds no relationships).
/// </summary>
internal readonly struct GraphView(RelationshipGraph graph, long now) : IRelationshipView<int, SubjectContext, long, StoredRelation, GraphTargets>
{
    // The memo key of (object, member): the object's node, or for an object never stored its type (all such objects
    // of a type evaluate alike within one check: they have no relationships).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long StepKey(int resource, MemberDefinition member) =>
        resource >= 0 ? ((long)resource << 20) | (uint)member.Index : -((((long)member.Owner.Index << 20) | (uint)member.Index) + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsSubjectSet(int resource, MemberDefinition member, in SubjectContext subject) =>
        subject.Member == member.Index && (resource >= 0 ? resource == subject.ObjectNode : subject.SameUnknownObject);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFindRelation(int resource, int relation, out StoredRelation set)
    {
        var found = graph.FindRelationSet(resource, relation);
        set = found is null ? default : new StoredRelation(found);
        return found is not null;
    }

    public RelationMatch Match(StoredRelation stored, in SubjectContext subject) => Match(stored.Set, in subject, now);

    // Indexed sets never expire nor carry a caveat (such a subject set is evaluated instead), so only direct and
    // wildcard matches look at the expiry and the caveat.
    private static RelationMatch Match(RelationSet set, in SubjectContext subject, long now) =>
        subject.Node >= 0 && set.Subjects.Contains(subject.Node) && set.Alive(subject.Node, now) && !set.IsCaveated(subject.Node) ? RelationMatch.Direct
        : subject.WildcardNode >= 0 && set.Subjects.Contains(subject.WildcardNode) && set.Alive(subject.WildcardNode, now) && !set.IsCaveated(subject.WildcardNode)
            ? RelationMatch.Wildcard
        : NodeSet.Intersects(set.IndexedSets, subject.Reach) || NodeSet.Intersects(set.IndexedSets, subject.WildcardReach)
            ? RelationMatch.Indexed
        : RelationMatch.None;

    public bool TryCaveatedMatch(StoredRelation stored, in SubjectContext subject, out BoundCaveat? direct, out BoundCaveat? wildcard)
    {
        var set = stored.Set;
        direct = wildcard = null;
        if (set.Caveated is not { } caveated)
        {
            return false;
        }

        if (subject.Node >= 0 && caveated.TryGetValue(subject.Node, out var onSubject) && set.Alive(subject.Node, now))
        {
            direct = onSubject;
        }

        if (subject.WildcardNode >= 0 && caveated.TryGetValue(subject.WildcardNode, out var onWildcard) && set.Alive(subject.WildcardNode, now))
        {
            wildcard = onWildcard;
        }

        return direct is not null || wildcard is not null;
    }

    public bool TryComputedSets(StoredRelation stored, out GraphTargets targets)
    {
        var sets = stored.Set.ComputedSets;
        targets = sets.IsEmpty ? default : new GraphTargets(graph, sets, stored.Set, now, null);
        return !sets.IsEmpty;
    }

    public GraphTargets ArrowTargets(StoredRelation stored, MemberDefinition?[] targets) => new(graph, stored.Set.Subjects, stored.Set, now, targets);

    public string DescribeStep(int resource, MemberDefinition member) =>
        resource >= 0 ? $"{graph.DescribeObject(resource)}#{member.Name}" : $"{member.Owner.Name}:(no relationships)#{member.Name}";

    public string DescribeIndexedMatch(StoredRelation stored, in SubjectContext subject)
    {
        foreach (var indexed in stored.Set.IndexedSets)
        {
            if (subject.Reach.Contains(indexed) || subject.WildcardReach.Contains(indexed))
            {
                return graph.DescribeSubject(indexed).ToString();
            }
        }

        return "a subject set";
    }
}

/// <summary>
/// A relation set of the engine's graph, wrapped in a struct so that the evaluator's instantiation for the graph has
/// value types only and gets code of its own (a reference type argument would share code, with lookups at run time).
/// </summary>
internal readonly struct StoredRelation(RelationSet set)
{
    public readonly RelationSet Set = set;
}

/// <summary>
/// The steps from a relation set of the engine's graph: for its computed subject sets, each set's object and member;
/// for an arrow, each walked subject's object and the member the arrow names for its type (null when it has none); each
/// with the caveat of its relationship. Subjects expired at <c>now</c> are not there.
/// </summary>
internal struct GraphTargets : ITargetCursor<int>
{
    private readonly RelationshipGraph _graph;
    private readonly MemberDefinition?[]? _arrowTargets;
    private readonly System.Collections.Immutable.ImmutableDictionary<int, long>? _expiring;
    private readonly System.Collections.Immutable.ImmutableDictionary<int, BoundCaveat>? _caveated;
    private readonly long _now;
    private NodeSet.Enumerator _nodes;

    public GraphTargets(RelationshipGraph graph, NodeSet nodes, RelationSet set, long now, MemberDefinition?[]? arrowTargets)
    {
        _graph = graph;
        _arrowTargets = arrowTargets;
        _expiring = set.Expiring;
        _caveated = set.Caveated;
        _now = now;
        _nodes = nodes.GetEnumerator();
    }

    public bool MoveNext(out int target, out MemberDefinition? member, out BoundCaveat? caveat)
    {
        do
        {
            if (!_nodes.MoveNext())
            {
                target = -1;
                member = null;
                caveat = null;
                return false;
            }
        }
        while (_expiring is not null && _expiring.TryGetValue(_nodes.Current, out var expiresAt) && expiresAt <= _now);

        caveat = _caveated is not null && _caveated.TryGetValue(_nodes.Current, out var found) ? found : null;
        ref readonly var node = ref _graph[_nodes.Current];
        target = node.Object;
        member = _arrowTargets is null ? _graph.Schema.Types[node.Type].Members[node.Member] : _arrowTargets[_graph[target].Type];
        return true;
    }
}
