namespace AuthzGrpc.Core.Management;

/// <summary>Where a role is stored, seen from the resource whose members are listed.</summary>
public enum RolePlacement
{
    /// <summary>On the resource itself.</summary>
    Here,

    /// <summary>On an object containing the resource (a team role on a project): it covers the resource.</summary>
    Above,

    /// <summary>On an object inside the resource (a local role, listed on request): it does not cover the resource.</summary>
    Below,
}

/// <summary>One role a member has on or around a resource, and where it comes from.</summary>
/// <param name="Relation">The role (a relation with management rules, or the base membership).</param>
/// <param name="GrantedOn">The object the role is stored on.</param>
/// <param name="Via">The group (subject set) that holds the role on the member's behalf; null when held directly.</param>
/// <param name="Placement">Where <paramref name="GrantedOn"/> is relative to the listed resource.</param>
/// <param name="ExpiresAt">When the grant stops counting (a time-boxed grant), or null for never.</param>
/// <param name="Caveat">The caveat the grant is stored under (it counts only where the caveat holds), or null for none.</param>
public sealed record RoleSource(
    string Relation, ObjectRef GrantedOn, SubjectRef? Via, RolePlacement Placement, DateTimeOffset? ExpiresAt = null, RelationshipCaveat? Caveat = null)
{
    /// <summary>
    /// How a member list names the role (R26, A004-5): the role itself when stored on the resource; prefixed with the
    /// type it comes from when inherited ("team owner" on a project); prefixed with the object when stored inside
    /// ("project:web developer" on the team).
    /// </summary>
    public string Label => Placement switch
    {
        RolePlacement.Above => $"{GrantedOn.Type} {Relation}",
        RolePlacement.Below => $"{GrantedOn} {Relation}",
        _ => Relation,
    };
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
    /// stored on and the group it comes through; with <paramref name="includeContained"/>, also everyone with a role on
    /// an object inside it (the team overview lists users who have only local roles, R26). Members of groups are listed
    /// one by one (nested groups included); ordered by subject, each member's roles here first, then inherited, then contained.
    /// </summary>
    public IReadOnlyList<MemberRoles> ListMembers(ObjectRef resource, bool includeContained = false)
    {
        var members = new Dictionary<SubjectRef, List<RoleSource>>();
        AddRoles(members, resource, RolePlacement.Here);

        // A role on an object above is listed only where it grants something here (A004-5: the list shows who has
        // access): a role some permission of this type reaches, never a base membership (R11: it grants nothing).
        var granting = GrantingRelations(TypeOf(resource));
        foreach (var holder in _containment.Above(resource))
        {
            var holderType = TypeOf(holder);
            AddRoles(members, holder, RolePlacement.Above, r => r != holderType.Rules.Base && granting.Contains(r));
        }

        if (includeContained)
        {
            foreach (var holder in _containment.Below(resource))
            {
                AddRoles(members, holder, RolePlacement.Below);
            }
        }

        return members
            .Select(m => new MemberRoles(m.Key, m.Value.Distinct()
                .OrderBy(r => r.Placement)
                .ThenBy(r => r.GrantedOn.ToString(), StringComparer.Ordinal)
                .ThenBy(r => r.Relation, StringComparer.Ordinal)
                .ToList()))
            .OrderBy(m => m.Subject.ToString(), StringComparer.Ordinal)
            .ToList();
    }

    // The roles stored on one object, one entry per member (group members expanded).
    private void AddRoles(Dictionary<SubjectRef, List<RoleSource>> members, ObjectRef holder, RolePlacement placement, Func<RelationDefinition, bool>? listed = null)
    {
        var roles = TypeOf(holder).Rules.Roles.Where(r => listed is null || listed(r)).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var relationship in engine.Read(new RelationshipFilter(holder.Type, holder.Id)))
        {
            if (!roles.Contains(relationship.Relation))
            {
                continue;
            }

            var subject = relationship.Subject;
            if (!subject.IsSubjectSet)
            {
                Add(members, subject, new RoleSource(relationship.Relation, holder, null, placement, relationship.ExpiresAt, relationship.Caveat));
                continue;
            }

            foreach (var member in ExpandSet(subject))
            {
                Add(members, member, new RoleSource(relationship.Relation, holder, subject, placement, relationship.ExpiresAt, relationship.Caveat));
            }
        }
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

    /// <summary>The object <paramref name="resource"/> belongs to (its <c>parent</c> rule), if any.</summary>
    public ObjectRef? ParentOf(ObjectRef resource) => _containment.Above(resource).Select(p => (ObjectRef?)p).FirstOrDefault();

    /// <summary>The objects directly inside <paramref name="parent"/>, of <paramref name="type"/> when given; ordered.</summary>
    public IReadOnlyList<ObjectRef> Children(ObjectRef parent, string? type) =>
        _containment.Children(parent).Where(c => type is null || c.Type == type).Distinct().OrderBy(c => c.ToString(), StringComparer.Ordinal).ToList();

    /// <summary>
    /// Whether <paramref name="caller"/> may see the members of <paramref name="resource"/>: it needs the type's
    /// <c>members by</c> permission there, the answer Check gives for it; a type without the rule lists its members to
    /// admin keys only (R11: a role or a membership alone shows nothing).
    /// </summary>
    public bool MayListMembers(SubjectRef caller, ObjectRef resource) =>
        TypeOf(resource).Rules.Members is { } members && engine.Check(resource, members.Name, caller);

    /// <summary>
    /// Whether <paramref name="caller"/> may read <paramref name="resource"/> (GetResource, and its entry in
    /// ListResources): the type's <c>read by</c> permission there; a type without the rule is read by admin keys only.
    /// </summary>
    public bool MayRead(SubjectRef caller, ObjectRef resource) =>
        TypeOf(resource).Rules.Read is { } read && engine.Check(resource, read.Name, caller);

    /// <summary>
    /// Whether <paramref name="caller"/> may read <paramref name="subject"/>'s access summary over <paramref name="scope"/>.
    /// When the scope's type declares <c>summary by p</c>, only holders of <c>p</c> may (A003-13: the owner and
    /// Manage-users holders, the subject itself included only if it holds <c>p</c>); otherwise the subject itself and
    /// those who may revoke roles on the scope.
    /// </summary>
    public bool MayReadAccessSummary(SubjectRef caller, SubjectRef subject, ObjectRef scope) =>
        TypeOf(scope).Rules.Summary is { } summary
            ? engine.Check(scope, summary.Name, caller)
            : caller == subject || MayRevokeSomeRole(caller, scope);

    /// <summary>Whether <paramref name="caller"/> has the <c>audit by</c> permission of <paramref name="resource"/>'s type on it.</summary>
    public bool MayReadAudit(SubjectRef caller, ObjectRef resource) =>
        TypeOf(resource).Rules.Audit is { } audit && engine.Check(resource, audit.Name, caller);

    private bool MayRevokeSomeRole(SubjectRef caller, ObjectRef resource) =>
        TypeOf(resource).Rules.Revoke.Values.SelectMany(rules => rules.Select(r => r.By)).Distinct().Any(by => engine.Check(resource, by.Name, caller));

    /// <summary>
    /// The relations (of any type) that some permission of <paramref name="type"/> reaches through its members and
    /// arrows, on the side that grants: both sides of a union or intersection, the left side of an exclusion.
    /// </summary>
    internal static IReadOnlySet<RelationDefinition> GrantingRelations(TypeDefinition type)
    {
        var relations = new HashSet<RelationDefinition>();
        var visited = new HashSet<PermissionDefinition>();
        void Walk(MemberDefinition? member)
        {
            switch (member)
            {
                case RelationDefinition relation:
                    relations.Add(relation);
                    break;
                case PermissionDefinition permission when visited.Add(permission):
                    Plan(permission.Plan);
                    break;
            }
        }

        void Plan(PlanNode node)
        {
            switch (node.Kind)
            {
                case PlanKind.Member:
                    Walk(node.Member);
                    break;
                case PlanKind.Arrow:
                    foreach (var target in node.ArrowTargets)
                    {
                        Walk(target);
                    }

                    break;
                case PlanKind.Exclusion:
                    Plan(node.Children[0]);
                    break;
                case PlanKind.Union or PlanKind.Intersection:
                    foreach (var child in node.Children)
                    {
                        Plan(child);
                    }

                    break;
            }
        }

        foreach (var permission in type.Members.OfType<PermissionDefinition>())
        {
            Walk(permission);
        }

        return relations;
    }

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
