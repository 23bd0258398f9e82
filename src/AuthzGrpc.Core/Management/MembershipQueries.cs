using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Management;

/// <summary>One role a member has on a resource, and where it comes from.</summary>
/// <param name="Relation">The role (a relation with management rules, or the base membership).</param>
/// <param name="GrantedOn">The object the role is stored on: the resource itself, or an ancestor it is inherited from.</param>
/// <param name="Via">The group (subject set) that holds the role on the member's behalf; null when held directly.</param>
public sealed record RoleSource(string Relation, ObjectRef GrantedOn, SubjectRef? Via)
{
    /// <summary>True when the role is stored on an ancestor rather than the resource itself.</summary>
    public bool Inherited(ObjectRef resource) => GrantedOn != resource;
}

/// <summary>A member of a resource with every role it has there, direct and inherited.</summary>
public sealed record MemberRoles(SubjectRef Subject, IReadOnlyList<RoleSource> Roles);

/// <summary>A subject's roles and permissions on one object.</summary>
public sealed record ObjectAccess(ObjectRef Resource, IReadOnlyList<string> Roles, IReadOnlyList<string> Permissions);

/// <summary>The read side of the management API: member lists and access summaries, computed from the engine.</summary>
public sealed class MembershipQueries(PermissionEngine engine)
{
    private readonly Containment _containment = new(engine);

    private CompiledSchema Schema => engine.Schema;

    /// <summary>
    /// Everyone with a role on <paramref name="resource"/> or on an object containing it (<c>parent</c> rules), each role with the object it is
    /// stored on and the group it comes through. Members of groups are listed one by one (nested groups included);
    /// ordered by subject.
    /// </summary>
    public IReadOnlyList<MemberRoles> ListMembers(ObjectRef resource)
    {
        var members = new Dictionary<SubjectRef, List<RoleSource>>();
        foreach (var holder in _containment.Above(resource).Prepend(resource))
        {
            var type = TypeOf(holder);
            var roles = type.Rules.Roles.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var relationship in engine.Read(new RelationshipFilter(holder.Type, holder.Id)))
            {
                if (!roles.Contains(relationship.Relation))
                {
                    continue;
                }

                var subject = relationship.Subject;
                if (!subject.IsSubjectSet)
                {
                    Add(members, subject, new RoleSource(relationship.Relation, holder, null));
                    continue;
                }

                foreach (var member in ExpandSet(subject))
                {
                    Add(members, member, new RoleSource(relationship.Relation, holder, subject));
                }
            }
        }

        return members
            .Select(m => new MemberRoles(m.Key, m.Value.Distinct().OrderBy(r => r.GrantedOn == resource ? 0 : 1).ThenBy(r => r.Relation, StringComparer.Ordinal).ToList()))
            .OrderBy(m => m.Subject.ToString(), StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// <paramref name="subject"/>'s access across <paramref name="scope"/> and everything it contains: for each object where
    /// it holds a role or has any permission, the roles stored there and the permissions it has. Ordered by object.
    /// </summary>
    public IReadOnlyList<ObjectAccess> AccessSummary(SubjectRef subject, ObjectRef scope)
    {
        var result = new List<ObjectAccess>();
        foreach (var resource in _containment.Below(scope).Prepend(scope))
        {
            var type = TypeOf(resource);
            var roles = engine.Read(new RelationshipFilter(resource.Type, resource.Id, null, new SubjectFilter(subject.Type, subject.Id, subject.Relation ?? string.Empty)))
                .Select(r => r.Relation)
                .Where(r => type.Rules.Roles.Any(role => role.Name == r))
                .Distinct()
                .Order(StringComparer.Ordinal)
                .ToList();
            var permissions = type.Members.OfType<PermissionDefinition>()
                .Where(p => engine.Check(resource, p.Name, subject))
                .Select(p => p.Name)
                .ToList();
            if (roles.Count > 0 || permissions.Count > 0)
            {
                result.Add(new ObjectAccess(resource, roles, permissions));
            }
        }

        return result.OrderBy(a => a.Resource.ToString(), StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Whether <paramref name="caller"/> may see the members of <paramref name="resource"/>: those with a role there (or
    /// on an object containing it) and those who may revoke a role there.
    /// </summary>
    public bool MayListMembers(SubjectRef caller, ObjectRef resource) =>
        MayRevokeSomeRole(caller, resource) || ListMembers(resource).Any(m => m.Subject == caller);

    /// <summary>
    /// Whether <paramref name="caller"/> may read <paramref name="subject"/>'s access summary over <paramref name="scope"/>:
    /// the subject itself, and those who may revoke roles on the scope (A003-13: the owner and member managers).
    /// </summary>
    public bool MayReadAccessSummary(SubjectRef caller, SubjectRef subject, ObjectRef scope) =>
        caller == subject || MayRevokeSomeRole(caller, scope);

    /// <summary>Whether <paramref name="caller"/> has the <c>audit by</c> permission of <paramref name="resource"/>'s type on it.</summary>
    public bool MayReadAudit(SubjectRef caller, ObjectRef resource) =>
        TypeOf(resource).Rules.Audit is { } audit && engine.Check(resource, audit.Name, caller);

    private bool MayRevokeSomeRole(SubjectRef caller, ObjectRef resource) =>
        TypeOf(resource).Rules.Revoke.Values.SelectMany(rules => rules.Select(r => r.By)).Distinct().Any(by => engine.Check(resource, by.Name, caller));

    // Every plain subject in a subject set, through nested sets: whoever the schema allows in it.
    private IEnumerable<SubjectRef> ExpandSet(SubjectRef set)
    {
        var type = TypeOf(set.Object);
        if (!type.TryGetMember(set.Relation!, out var member))
        {
            return [];
        }

        var subjectTypes = member is RelationDefinition relation
            ? relation.AllowedSubjects.Where(s => s.Relation is null && !s.Wildcard).Select(s => s.Type.Name)
            : Schema.Types.Where(t => t.Members.Count == 0).Select(t => t.Name);
        return subjectTypes.Distinct()
            .SelectMany(t => engine.LookupSubjects(set.Object, set.Relation!, t).Subjects)
            .Where(s => !s.IsWildcard);
    }

    private static void Add(Dictionary<SubjectRef, List<RoleSource>> members, SubjectRef subject, RoleSource source)
    {
        if (!members.TryGetValue(subject, out var list))
        {
            members.Add(subject, list = []);
        }

        list.Add(source);
    }

    private TypeDefinition TypeOf(ObjectRef resource) => Schema.RequireType(resource.Type);
}
