namespace AuthzGrpc.Core.Management;

/// <summary>
/// What an object is, read from its relationships (GetResource and ListResources show it): every relationship stored
/// on the object except the link to its parent (shown as the parent) and its members' roles (shown by ListMembers). A
/// member's role is a relationship of a role relation (one with a management rule) whose subject is of a member kind: a
/// subject set, a wildcard, or an object of a type some base membership admits (a user). What remains are the object's
/// attributes and links: a 003 environment's <c>type</c> (its environment type, a role relation whose subject is no
/// member) and its <c>production_of</c> mark, a creator, a project's environment types.
/// </summary>
public static class ResourceAttributes
{
    /// <summary>The attributes of <paramref name="resource"/>, ordered by relation, then subject.</summary>
    public static IReadOnlyList<Relationship> Of(PermissionEngine engine, ObjectRef resource)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var schema = engine.Schema;
        var type = schema.RequireType(resource.Type);
        var memberKinds = schema.Types.Select(t => t.Rules.Base).OfType<RelationDefinition>()
            .SelectMany(b => b.AllowedSubjects.Where(s => s.Relation is null && !s.Wildcard).Select(s => s.Type.Name))
            .ToHashSet(StringComparer.Ordinal);
        bool IsRole(string relation) => type.TryGetMember(relation, out var member) && member is RelationDefinition r && type.Rules.Roles.Contains(r);
        bool IsMember(SubjectRef subject) => subject.IsSubjectSet || subject.IsWildcard || memberKinds.Contains(subject.Type);

        return engine.Read(new RelationshipFilter(resource.Type, resource.Id))
            .Where(r => r.Relation != type.Rules.Parent?.Name && r.Relation != type.Rules.Create?.Under.Name)
            .Where(r => !(IsRole(r.Relation) && IsMember(r.Subject)))
            .OrderBy(r => r.Relation, StringComparer.Ordinal)
            .ThenBy(r => r.Subject.ToString(), StringComparer.Ordinal)
            .ToList();
    }
}
