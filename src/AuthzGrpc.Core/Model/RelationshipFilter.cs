namespace AuthzGrpc.Core.Model;

/// <summary>Selects relationships: a resource type, and optionally its id, the relation and the subject.</summary>
/// <param name="ResourceType">Required resource type.</param>
/// <param name="ResourceId">Only this resource; null for every resource of the type.</param>
/// <param name="Relation">Only this relation; null for every relation.</param>
/// <param name="Subject">Only relationships whose subject matches; null for any subject.</param>
public sealed record RelationshipFilter(string ResourceType, string? ResourceId = null, string? Relation = null, SubjectFilter? Subject = null)
{
    /// <summary>Whether <paramref name="relationship"/> is selected.</summary>
    public bool Matches(Relationship relationship) =>
        relationship.Resource.Type == ResourceType &&
        (ResourceId is null || relationship.Resource.Id == ResourceId) &&
        (Relation is null || relationship.Relation == Relation) &&
        (Subject is null || Subject.Matches(relationship.Subject));
}

/// <summary>Selects subjects: a type, and optionally the id and the subject relation.</summary>
/// <param name="Type">Required subject type.</param>
/// <param name="Id">Only this id (<c>*</c> selects the wildcard); null for any.</param>
/// <param name="Relation">Only this subject relation (empty string: plain objects only); null for any.</param>
public sealed record SubjectFilter(string Type, string? Id = null, string? Relation = null)
{
    /// <summary>Whether <paramref name="subject"/> is selected.</summary>
    public bool Matches(SubjectRef subject) =>
        subject.Type == Type &&
        (Id is null || subject.Id == Id) &&
        (Relation is null || (subject.Relation ?? string.Empty) == Relation);
}
