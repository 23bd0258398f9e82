using AuthzGrpc.V1;

namespace AuthzGrpc.Server.Tests.Infrastructure;

/// <summary>Builds requests from the text forms used in fixtures: <c>user:alice</c>, <c>group:eng#member</c>, <c>project:web</c>.</summary>
public static class Requests
{
    /// <summary>A subject from <c>type:id</c> or <c>type:id#relation</c>.</summary>
    public static SubjectRef Subject(string text)
    {
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        return new SubjectRef
        {
            Object = Object(hash < 0 ? text : text[..hash]),
            Relation = hash < 0 ? string.Empty : text[(hash + 1)..],
        };
    }

    /// <summary>An object from <c>type:id</c>.</summary>
    public static ObjectRef Object(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return new ObjectRef { Type = text[..colon], Id = text[(colon + 1)..] };
    }

    /// <summary>A check of <paramref name="subject"/> doing <paramref name="action"/> on <paramref name="resource"/>.</summary>
    public static CheckRequest Check(string subject, string action, string resource) =>
        new() { Subject = Subject(subject), Action = action, Resource = Object(resource) };

    /// <summary>A copy of <paramref name="request"/> asking for <paramref name="consistency"/>.</summary>
    public static CheckRequest WithConsistency(CheckRequest request, Consistency consistency)
    {
        var copy = request.Clone();
        copy.Consistency = consistency;
        return copy;
    }

    /// <summary>The same question as an explain request.</summary>
    public static ExplainRequest Explain(string subject, string action, string resource) =>
        new() { Subject = Subject(subject), Action = action, Resource = Object(resource) };

    /// <summary>A LookupResources request from <c>subject|action|resource_type</c>, e.g. <c>user:olivia|view|project</c>.</summary>
    public static LookupResourcesRequest LookupResources(string lookup)
    {
        var parts = lookup.Split('|');
        return new LookupResourcesRequest { Subject = Subject(parts[0]), Action = parts[1], ResourceType = parts[2] };
    }

    /// <summary>A LookupSubjects request from <c>resource|action|subject_type</c>, e.g. <c>project:web|view|user</c>.</summary>
    public static LookupSubjectsRequest LookupSubjects(string lookup)
    {
        var parts = lookup.Split('|');
        return new LookupSubjectsRequest { Resource = Object(parts[0]), Action = parts[1], SubjectType = parts[2] };
    }

    /// <summary>A copy of <paramref name="request"/> asking for one page: at most <paramref name="limit"/> (0: all), after <paramref name="cursor"/>.</summary>
    public static LookupResourcesRequest Page(LookupResourcesRequest request, uint limit, string cursor = "")
    {
        var copy = request.Clone();
        copy.Limit = limit;
        copy.Cursor = cursor;
        return copy;
    }

    /// <summary>A copy of <paramref name="request"/> asking for one page: at most <paramref name="limit"/> (0: all), after <paramref name="cursor"/>.</summary>
    public static LookupSubjectsRequest Page(LookupSubjectsRequest request, uint limit, string cursor = "")
    {
        var copy = request.Clone();
        copy.Limit = limit;
        copy.Cursor = cursor;
        return copy;
    }

    /// <summary>Prints a subject as <c>type:id</c> or <c>type:id#relation</c>.</summary>
    public static string Text(SubjectRef subject) =>
        subject.Relation.Length == 0 ? $"{subject.Object.Type}:{subject.Object.Id}" : $"{subject.Object.Type}:{subject.Object.Id}#{subject.Relation}";

    /// <summary>Prints an object as <c>type:id</c>.</summary>
    public static string Text(ObjectRef value) => $"{value.Type}:{value.Id}";

    /// <summary>A relationship from <c>type:id#relation@subject</c>.</summary>
    public static Relationship Relationship(string text)
    {
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        var at = text.IndexOf('@', hash);
        return new Relationship { Resource = Object(text[..hash]), Relation = text[(hash + 1)..at], Subject = Subject(text[(at + 1)..]) };
    }

    /// <summary>Prints a relationship as <c>type:id#relation@subject</c>.</summary>
    public static string Text(Relationship relationship) =>
        $"{Text(relationship.Resource)}#{relationship.Relation}@{Text(relationship.Subject)}";

    /// <summary>One update of a write.</summary>
    public static RelationshipUpdate Update(Operation operation, string relationship) =>
        new() { Operation = operation, Relationship = Relationship(relationship) };

    /// <summary>A write of the given updates.</summary>
    public static WriteRelationshipsRequest Write(params RelationshipUpdate[] updates) => new() { Updates = { updates } };

    /// <summary>A filter: resource type and, optionally, id, relation and subject (<c>type[:id][#relation]</c>).</summary>
    public static RelationshipFilter Filter(string resourceType, string resourceId = "", string relation = "", SubjectFilter? subject = null) =>
        new() { ResourceType = resourceType, ResourceId = resourceId, Relation = relation, Subject = subject };

    /// <summary>A precondition that <paramref name="filter"/> matches a stored relationship.</summary>
    public static Precondition MustMatch(RelationshipFilter filter) =>
        new() { Operation = Precondition.Types.Operation.MustMatch, Filter = filter };

    /// <summary>A precondition that <paramref name="filter"/> matches no stored relationship.</summary>
    public static Precondition MustNotMatch(RelationshipFilter filter) =>
        new() { Operation = Precondition.Types.Operation.MustNotMatch, Filter = filter };
}
