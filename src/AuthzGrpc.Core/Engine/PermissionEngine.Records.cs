using AuthzGrpc.Core.Graph;
using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Core.Engine;

public sealed partial class PermissionEngine
{
    /// <summary>
    /// The record of <paramref name="type"/>:<paramref name="id"/> (<c>*</c> for a type's wildcard) at the current
    /// revision: what a check reads about it from the shared graph. Empty when nothing is stored about it.
    /// </summary>
    public RecordContent DescribeRecord(string type, string id) => Read(() => DescribeRecordUnlocked(type, id));

    /// <summary>Every non-empty record at the current revision, for rebuilding the shared graph.</summary>
    public IReadOnlyList<RecordContent> DescribeAllRecords() => Read(() =>
    {
        var records = new List<RecordContent>();
        for (var node = 0; node < _graph.NodeCount; node++)
        {
            var kind = _graph[node].Kind;
            if (kind == NodeKind.SubjectSet)
            {
                continue;
            }

            var record = DescribeRecordUnlocked(_graph.Schema.Types[_graph[node].Type].Name, _graph[node].Id);
            if (!record.IsEmpty)
            {
                records.Add(record);
            }
        }

        return records;
    });

    /// <summary>
    /// The records whose content <paramref name="changes"/> (already applied) altered: each change's resource; with a
    /// relation arrows walk, every object below that resource (their ancestor lists); with a membership-indexed
    /// relation, the subject and everything that reaches it (their closures). Computed after the fact: the nodes that
    /// reach an edge's source are the same with or without that edge.
    /// </summary>
    public IReadOnlyCollection<(string Type, string Id)> AffectedRecords(IEnumerable<Relationship> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return Read(() =>
        {
            var affected = new HashSet<(string, string)>();
            foreach (var change in changes)
            {
                if (!_graph.Schema.TryGetType(change.Resource.Type, out var type) ||
                    !type.TryGetMember(change.Relation, out var member) || member is not Schema.RelationDefinition relation)
                {
                    continue;
                }

                affected.Add((type.Name, change.Resource.Id));
                var resource = _graph.FindObject(type.Index, change.Resource.Id);
                if (relation.IsArrowSource && resource >= 0)
                {
                    foreach (var below in _graph.Ancestors.ReachedBy(resource))
                    {
                        affected.Add(OwnerOf(below));
                    }
                }

                if (relation.IsMembershipIndexed && FindSubjectNode(change.Subject) is var subject && subject >= 0)
                {
                    affected.Add(OwnerOf(subject));
                    foreach (var member2 in _graph.Membership.ReachedBy(subject))
                    {
                        affected.Add(OwnerOf(member2));
                    }
                }
            }

            return affected;
        });
    }

    private RecordContent DescribeRecordUnlocked(string type, string id)
    {
        if (!_graph.Schema.TryGetType(type, out var definition))
        {
            throw AuthzException.Invalid($"type '{type}' is not defined in the schema");
        }

        var content = new RecordContent(type, id, _revision);
        var node = id == Identifiers.Wildcard ? _graph.FindWildcard(definition.Index) : _graph.FindObject(definition.Index, id);
        if (node < 0)
        {
            return content;
        }

        content.Reach.AddRange(Describe(_graph.Membership.Reach(node)));
        if (id == Identifiers.Wildcard)
        {
            return content;
        }

        content.Ancestors.AddRange(_graph.Ancestors.Reach(node).ToArray().Select(a => _graph.DescribeObject(a).ToString()).Order(StringComparer.Ordinal));
        if (_graph[node].SubjectSets is { } sets)
        {
            for (var member = 0; member < sets.Length; member++)
            {
                var reach = sets[member] >= 0 ? _graph.Membership.Reach(sets[member]) : null;
                if (reach is { Count: > 0 })
                {
                    content.SubjectSetReach[definition.Members[member].Name] = Describe(reach);
                }
            }
        }

        if (_graph[node].Relations is { } relations)
        {
            for (var member = 0; member < relations.Length; member++)
            {
                if (relations[member] is { Subjects.Count: > 0 } set)
                {
                    content.Relations[definition.Members[member].Name] = Describe(set.Subjects);
                }
            }
        }

        return content;
    }

    private List<string> Describe(NodeSet nodes) =>
        [.. nodes.ToArray().Select(n => _graph.DescribeSubject(n).ToString()).Order(StringComparer.Ordinal)];

    // The record a node's data lives in: an object's own, a subject set's object, a wildcard's type:*.
    private (string Type, string Id) OwnerOf(int node)
    {
        ref var n = ref _graph[node];
        var type = _graph.Schema.Types[n.Type].Name;
        return n.Kind == NodeKind.Wildcard ? (type, Identifiers.Wildcard) : (type, _graph[n.Object].Id);
    }

    private int FindSubjectNode(SubjectRef subject)
    {
        if (!_graph.Schema.TryGetType(subject.Type, out var type))
        {
            return -1;
        }

        if (subject.IsWildcard)
        {
            return _graph.FindWildcard(type.Index);
        }

        var objectNode = _graph.FindObject(type.Index, subject.Id);
        return subject.IsSubjectSet && type.TryGetMember(subject.Relation!, out var member)
            ? _graph.FindSubjectSet(objectNode, member.Index)
            : objectNode;
    }
}
