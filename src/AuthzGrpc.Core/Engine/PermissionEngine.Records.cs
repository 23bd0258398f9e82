using AuthzGrpc.Core.Graph;

namespace AuthzGrpc.Core.Engine;

public sealed partial class PermissionEngine
{
    /// <summary>
    /// The record of <paramref name="type"/>:<paramref name="id"/> (<c>*</c> for a type's wildcard) at the current
    /// revision: what a check reads about it from the shared graph. Empty when nothing is stored about it.
    /// </summary>
    public RecordContent DescribeRecord(string type, string id) => DescribeRecord(_graph, type, id);

    /// <summary>Every non-empty record at the current revision, for rebuilding the shared graph.</summary>
    public IReadOnlyList<RecordContent> DescribeAllRecords()
    {
        var graph = _graph;
        var records = new List<RecordContent>();
        for (var node = 0; node < graph.NodeCount; node++)
        {
            var kind = graph[node].Kind;
            if (kind == NodeKind.SubjectSet)
            {
                continue;
            }

            var record = DescribeRecord(graph, graph.Schema.Types[graph[node].Type].Name, graph[node].Id);
            if (!record.IsEmpty)
            {
                records.Add(record);
            }
        }

        return records;
    }

    /// <summary>
    /// The records whose content <paramref name="changes"/> (already applied) altered: each change's resource; with a
    /// relation arrows walk, every object below that resource (their ancestor lists); with a membership-indexed
    /// relation, the subject and everything that reaches it (their closures). Computed after the fact: the nodes that
    /// reach an edge's source are the same with or without that edge.
    /// </summary>
    public IReadOnlyCollection<(string Type, string Id)> AffectedRecords(IEnumerable<Relationship> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var graph = _graph;
        var affected = new HashSet<(string, string)>();
        foreach (var change in changes)
        {
            if (!graph.Schema.TryGetType(change.Resource.Type, out var type) ||
                !type.TryGetMember(change.Relation, out var member) || member is not Schema.RelationDefinition relation)
            {
                continue;
            }

            affected.Add((type.Name, change.Resource.Id));
            var resource = graph.FindObject(type.Index, change.Resource.Id);
            if (relation.IsArrowSource && resource >= 0)
            {
                foreach (var below in graph.Ancestors.ReachedBy(resource))
                {
                    affected.Add(OwnerOf(graph, below));
                }
            }

            if (relation.IsMembershipIndexed && FindSubjectNode(graph, change.Subject) is var subject && subject >= 0)
            {
                affected.Add(OwnerOf(graph, subject));
                foreach (var member2 in graph.Membership.ReachedBy(subject))
                {
                    affected.Add(OwnerOf(graph, member2));
                }
            }
        }

        return affected;
    }

    private static RecordContent DescribeRecord(RelationshipGraph graph, string type, string id)
    {
        if (!graph.Schema.TryGetType(type, out var definition))
        {
            throw AuthzException.Invalid($"type '{type}' is not defined in the schema");
        }

        var content = new RecordContent(type, id, graph.Revision);
        var node = id == Identifiers.Wildcard ? graph.FindWildcard(definition.Index) : graph.FindObject(definition.Index, id);
        if (node < 0)
        {
            return content;
        }

        content.Reach.AddRange(Describe(graph, graph.Membership.Reach(node)));
        if (id == Identifiers.Wildcard)
        {
            return content;
        }

        content.Ancestors.AddRange(graph.Ancestors.Reach(node).ToArray().Select(a => graph.DescribeObject(a).ToString()).Order(StringComparer.Ordinal));
        for (var member = 0; member < definition.Members.Count; member++)
        {
            var reach = graph.Membership.Reach(graph.FindSubjectSet(node, member));
            if (reach.Count > 0)
            {
                content.SubjectSetReach[definition.Members[member].Name] = Describe(graph, reach);
            }
        }

        if (graph.RelationsOf(node) is { } relations)
        {
            for (var member = 0; member < relations.Length; member++)
            {
                if (relations[member] is { Subjects.Count: > 0 } set)
                {
                    content.Relations[definition.Members[member].Name] = DescribeStored(graph, set);
                }
            }
        }

        return content;
    }

    private static List<string> Describe(RelationshipGraph graph, NodeSet nodes) =>
        [.. nodes.ToArray().Select(n => graph.DescribeSubject(n).ToString()).Order(StringComparer.Ordinal)];

    // The subjects of a relation set as the record stores them: expired ones too (a check judges them by its own
    // clock; cleaning up deletes them, which rewrites the record).
    private static List<string> DescribeStored(RelationshipGraph graph, RelationSet set) =>
    [
        .. set.Subjects.ToArray()
            .Select(n => GraphRecordCodec.WithExpiry(
                graph.DescribeSubject(n).ToString(),
                set.Expiring is { } expiring && expiring.TryGetValue(n, out var ticks) ? new DateTimeOffset(ticks, TimeSpan.Zero) : null))
            .Order(StringComparer.Ordinal),
    ];

    // The record a node's data lives in: an object's own, a subject set's object, a wildcard's type:*.
    private static (string Type, string Id) OwnerOf(RelationshipGraph graph, int node)
    {
        ref readonly var n = ref graph[node];
        var type = graph.Schema.Types[n.Type].Name;
        return n.Kind == NodeKind.Wildcard ? (type, Identifiers.Wildcard) : (type, graph[n.Object].Id);
    }

    private static int FindSubjectNode(RelationshipGraph graph, SubjectRef subject)
    {
        if (!graph.Schema.TryGetType(subject.Type, out var type))
        {
            return -1;
        }

        if (subject.IsWildcard)
        {
            return graph.FindWildcard(type.Index);
        }

        var objectNode = graph.FindObject(type.Index, subject.Id);
        return subject.IsSubjectSet && type.TryGetMember(subject.Relation!, out var member)
            ? graph.FindSubjectSet(objectNode, member.Index)
            : objectNode;
    }
}
