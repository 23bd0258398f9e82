using System.Text.Json;
using AuthzGrpc.Core.Management;

namespace AuthzGrpc.Storage;

/// <summary>Relationships as rows and queries, and as the audit log and the change log name them.</summary>
internal static class RelationshipRows
{
    // The change log's operation names (ChangeRow.Operation).
    internal const string TouchOperation = "touch";
    internal const string DeleteOperation = "delete";

    /// <summary>The row that stores <paramref name="relationship"/>, written at <paramref name="revision"/>.</summary>
    internal static RelationshipRow ToRow(Relationship relationship, long revision)
    {
        var row = new RelationshipRow { CreatedRevision = revision };
        row.Set(relationship);
        return row;
    }

    // The resources a write touched: "project:web, project:api and 3 more".
    internal static string Target(IReadOnlyCollection<Relationship> relationships) => AuditTarget.Of(relationships.Select(r => r.Resource));

    // What the audit log shows of relationships: their text forms.
    internal static string Json(IEnumerable<Relationship> relationships) =>
        JsonSerializer.Serialize(relationships.Select(r => r.ToString()).ToArray());

    /// <summary>A filter in the relationship text form, <c>*</c> for what it leaves open: <c>project:*#viewer@user:alice</c>.</summary>
    internal static string Describe(RelationshipFilter filter)
    {
        var text = $"{filter.ResourceType}:{filter.ResourceId ?? "*"}#{filter.Relation ?? "*"}";
        if (filter.Subject is { } subject)
        {
            text += $"@{subject.Type}:{subject.Id ?? "*"}" + subject.Relation switch
            {
                null => "#*",
                "" => string.Empty,
                var relation => "#" + relation,
            };
        }

        return text;
    }

    /// <summary>The rows <paramref name="filter"/> selects.</summary>
    internal static IQueryable<RelationshipRow> Matching(this IQueryable<RelationshipRow> rows, RelationshipFilter filter)
    {
        // Locals, not the filter's properties, so EF Core sends each as a parameter.
        var (type, id, relation) = (filter.ResourceType, filter.ResourceId, filter.Relation);
        rows = rows.Where(r => r.ResourceType == type);
        rows = id is null ? rows : rows.Where(r => r.ResourceId == id);
        rows = relation is null ? rows : rows.Where(r => r.Relation == relation);
        if (filter.Subject is not { } subject)
        {
            return rows;
        }

        var (subjectType, subjectId, subjectRelation) = (subject.Type, subject.Id, subject.Relation);
        rows = rows.Where(r => r.SubjectType == subjectType);
        rows = subjectId is null ? rows : rows.Where(r => r.SubjectId == subjectId);
        return subjectRelation is null ? rows : rows.Where(r => r.SubjectRelation == subjectRelation);
    }
}
