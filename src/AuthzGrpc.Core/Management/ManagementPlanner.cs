using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Management;

/// <summary>The relationship changes a management operation makes, and what it removed (for the reply and the audit log).</summary>
/// <param name="Updates">The changes, to be committed as one batch.</param>
/// <param name="Removed">The relationships the operation deletes, including those a cascade removes.</param>
public sealed record ManagementPlan(IReadOnlyList<RelationshipUpdate> Updates, IReadOnlyList<Relationship> Removed)
{
    /// <summary>Nothing to change.</summary>
    public static readonly ManagementPlan Empty = new([], []);
}

/// <summary>
/// Turns management operations (grant, revoke, set roles, remove member, leave, transfer, invitation grants) into
/// relationship changes, enforcing the schema's management rules (<see cref="ManagementRules"/>). It reads the engine
/// and changes nothing: the caller commits the plan. Authority is checked before state (R24): a caller without the
/// authority gets <see cref="AuthzErrorKind.PermissionDenied"/> whatever the state; an authorised change that a rule
/// forbids gets <see cref="AuthzErrorKind.FailedPrecondition"/> naming the rule.
/// </summary>
/// <remarks>Plans are only consistent if no write lands between planning and committing: the caller serializes them.</remarks>
public sealed partial class ManagementPlanner(PermissionEngine engine)
{
    private readonly Containment _containment = new(engine);

    private CompiledSchema Schema => engine.Schema;

    /// <summary>Grants <paramref name="relation"/> on <paramref name="resource"/> to <paramref name="subject"/>, with the base memberships it implies.</summary>
    public ManagementPlan Grant(SubjectRef caller, ObjectRef resource, string relation, SubjectRef subject) =>
        ChangeRoles(caller, subject, [new ObjectRoleChange(resource, RoleChangeKind.Grant, [relation])]);

    /// <summary>Revokes <paramref name="relation"/> on <paramref name="resource"/> from <paramref name="subject"/>.</summary>
    public ManagementPlan Revoke(SubjectRef caller, ObjectRef resource, string relation, SubjectRef subject)
    {
        // Authority first (R24): a caller without it is refused alike whether the subject holds the role or not; only
        // then is a role not held NotFound (a batch judges it with the other state rules, after every item's authority).
        var type = TypeOf(resource);
        var definition = RelationOf(type, relation);
        _ = RequireRevokeAuthority(caller, resource, type, definition, subject);
        RequireHeld(resource, definition, subject);
        return ChangeRoles(caller, subject, [new ObjectRoleChange(resource, RoleChangeKind.Revoke, [relation])]);
    }

    /// <summary>
    /// Makes the subject's roles on the resource (relations with a grant or revoke rule, the base membership aside)
    /// exactly <paramref name="relations"/>: a role change is one step, so a last owner cannot be downgraded in passing.
    /// </summary>
    public ManagementPlan SetRoles(SubjectRef caller, ObjectRef resource, SubjectRef subject, IReadOnlyCollection<string> relations)
    {
        ArgumentNullException.ThrowIfNull(relations);
        return ChangeRoles(caller, subject, [new ObjectRoleChange(resource, RoleChangeKind.Set, [.. relations])]);
    }

    /// <summary>
    /// Changes <paramref name="subject"/>'s roles on several objects as one step (R33: one management call for a role
    /// on a project and on its environment types). Each item is judged by exactly the rules <see cref="Grant"/>,
    /// <see cref="Revoke"/> and <see cref="SetRoles"/> apply, every item against the state before the batch, so one
    /// item's change neither enables nor blocks another's. Malformed input in any item is refused first
    /// (InvalidArgument, also for an object named by two items), then authority is checked for every item
    /// (PermissionDenied), then state (FailedPrecondition, NotFound): any refusal refuses the whole batch. The plan is
    /// one batch in which identical updates appear once (items on two projects of one organization imply its base
    /// membership once).
    /// </summary>
    public ManagementPlan ChangeRoles(SubjectRef caller, SubjectRef subject, IReadOnlyList<ObjectRoleChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        RequireDistinctObjects(changes);
        var deltas = changes.Select(c => Resolve(c, subject)).ToList();

        // Authority first, for every part of every item; a rule that applies but not to this subject ('unless') is a
        // state refusal, reported after every authority check has passed.
        // The roles added are judged before those already held, so a refusal names a change when there is one.
        var deferred = deltas.SelectMany(d => d.Adding.Concat(d.Named.Except(d.Adding)).Select(r => RequireGrantAuthority(caller, d.Resource, d.Type, r, subject))
                .Concat(d.Removing.Select(r => RequireRevokeAuthority(caller, d.Resource, d.Type, r, subject))))
            .ToList()
            .FirstOrDefault(refusal => refusal is not null);
        if (deferred is not null)
        {
            throw deferred;
        }

        // Then state.
        return PlanStates(deltas, subject);
    }

    // The state rules of every item, merged into one batch in which identical updates appear once.
    private ManagementPlan PlanStates(List<RoleDelta> deltas, SubjectRef subject)
    {
        var plans = deltas.Select(d => PlanState(d, subject)).ToList();
        var updates = plans.SelectMany(p => p.Updates).Distinct().ToList();
        RequireUniqueAcrossObjects(updates);
        return new ManagementPlan(updates, [.. plans.SelectMany(p => p.Removed).Distinct()]);
    }

    // The items are planned separately and merged, which is sound only when no two of them change one object.
    private static void RequireDistinctObjects(IReadOnlyList<ObjectRoleChange> changes)
    {
        var first = new Dictionary<ObjectRef, int>();
        for (var i = 0; i < changes.Count; i++)
        {
            if (!first.TryAdd(changes[i].Resource, i))
            {
                throw AuthzException.Invalid(
                    $"changes[{i}].resource: {changes[i].Resource} is already the object of changes[{first[changes[i].Resource]}]; put all of its roles in one item");
            }
        }
    }

    /// <summary>
    /// Removes <paramref name="subject"/> from <paramref name="resource"/>: every role it holds there and on everything
    /// the resource contains (the cascade). Needs the revoke rule of the resource's base membership and of each role the
    /// subject holds on the resource. Attributes (relations without management rules, such as a creator) stay.
    /// </summary>
    public ManagementPlan RemoveMember(SubjectRef caller, ObjectRef resource, SubjectRef subject)
    {
        var type = TypeOf(resource);
        RequireRemoveAuthority(caller, resource, type, subject);

        // Then the right to revoke every role they hold here: an admin who may not touch owners may not remove an owner
        // either.
        var authorityOver = type.Rules.Roles.Where(r => r == type.Rules.Base || Holds(resource, r, subject)).ToList();
        if (authorityOver.Count == 0)
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"{subject} holds nothing on {resource}; remove it where it is granted");
        }

        var deferred = authorityOver.Select(r => RequireRevokeAuthority(caller, resource, type, r, subject)).ToList().FirstOrDefault(refusal => refusal is not null);
        if (deferred is not null)
        {
            throw deferred;
        }

        var removed = Cascade(resource, subject);
        if (removed.Count == 0)
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"{subject} holds nothing on {resource} or below it");
        }

        return Remove(removed);
    }

    /// <summary>
    /// Authority first (R24), before anything about the subject: the right to remove members of <paramref name="resource"/>
    /// at all (the revoke rule of the base membership; without one, some revoke rule), so a refused caller learns
    /// neither whether the subject is a member nor which role it holds. A state refusal of the base membership's rule
    /// (<c>unless</c>) is left to the per-role judgement that follows.
    /// </summary>
    private void RequireRemoveAuthority(SubjectRef caller, ObjectRef resource, TypeDefinition type, SubjectRef subject)
    {
        if (type.Rules.Base is { } membership)
        {
            _ = RequireRevokeAuthority(caller, resource, type, membership, subject);
        }
        else if (!type.Rules.Revoke.Values.SelectMany(rules => rules).Any(rule => Has(caller, resource, rule.By)))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"removing members of {resource} needs the authority to revoke a role there, which {caller} does not have");
        }
    }

    /// <summary>The caller removes itself from <paramref name="resource"/> (and everything below), if the <c>leave</c> rule allows.</summary>
    public ManagementPlan Leave(SubjectRef caller, ObjectRef resource)
    {
        var type = TypeOf(resource);
        if (type.Rules.LeaveBy is not { } leaveBy)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"nobody may leave a {type.Name}: the schema has no 'leave' rule for it");
        }

        if (!Has(caller, resource, leaveBy))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"leaving {resource} needs {leaveBy.Name}, which {caller} does not have");
        }

        var removed = Cascade(resource, caller);
        return removed.Count == 0
            ? throw new AuthzException(AuthzErrorKind.NotFound, $"{caller} holds nothing on {resource}")
            : Remove(removed);
    }

    /// <summary>The caller hands its <paramref name="relation"/> on <paramref name="resource"/> over to <paramref name="to"/>, keeping none of it.</summary>
    public ManagementPlan Transfer(SubjectRef caller, ObjectRef resource, string relation, SubjectRef to)
    {
        var type = TypeOf(resource);
        var definition = RelationOf(type, relation);
        if (!type.Rules.Transfer.TryGetValue(definition, out var by))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{type.Name}#{relation} cannot be transferred: the schema has no 'transfer {relation}' rule");
        }

        if (!Has(caller, resource, by) || !Holds(resource, definition, caller))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"transferring {relation} of {resource} needs {by.Name} and holding {relation} directly, which {caller} does not");
        }

        if (to == caller)
        {
            throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"{caller} already holds {relation} on {resource}: transfer it to someone else");
        }

        var removed = new Relationship(resource, relation, caller);
        var updates = new List<RelationshipUpdate> { new(RelationshipOperation.Delete, removed) };
        if (!Holds(resource, definition, to))
        {
            // The recipient gets the relation as a grant would give it: the same state rules apply to it.
            RequireGrantState(resource, type, definition, to);
            RequireExclusive(resource, type, to, [definition], []);
            updates.Add(new(RelationshipOperation.Touch, new Relationship(resource, relation, to)));
        }

        updates.AddRange(BaseMemberships(resource, to).Except(updates.Select(u => u.Relationship)).Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r)));
        engine.Validate(updates);
        return new ManagementPlan(updates, [removed]);
    }

    /// <summary>
    /// Creates <paramref name="resource"/> under <paramref name="parent"/> (the type's <c>create by relation-&gt;permission</c>
    /// rule: the caller needs the permission on the parent), with <paramref name="attributes"/> — further relationships
    /// of the new object, such as its creator or type — and the <paramref name="children"/> created inside it, all in
    /// one step. The new object's create rule authorises its children (their own rules would be judged on a parent that
    /// does not exist yet). Every <c>require one</c> rule of a created object must be met by exactly one created object.
    /// </summary>
    public ManagementPlan Create(
        SubjectRef caller, ObjectRef resource, ObjectRef parent, IReadOnlyList<(string Relation, SubjectRef Subject)> attributes,
        IReadOnlyList<ContainedObject>? children = null)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        children ??= [];
        var type = TypeOf(resource);

        // Malformed input, whoever asks: each child belongs to the new object, no object is named twice, and every
        // attribute is a relation of its object's type.
        var topAttributes = Resolve(type, attributes);
        var contained = new List<NewObject>();
        for (var i = 0; i < children.Count; i++)
        {
            var child = children[i];
            var childType = TypeOf(child.Resource);
            var under = new[] { childType.Rules.Parent, childType.Rules.Create?.Under }
                .FirstOrDefault(r => r is not null && r.Allows(type, null, wildcard: false))
                ?? throw AuthzException.Invalid($"children[{i}]: a {childType.Name} does not belong to a {type.Name}: neither its 'parent' nor its 'create by' relation allows {type.Name}");
            if (child.Resource == resource || contained.Any(o => o.Resource == child.Resource))
            {
                throw AuthzException.Invalid($"children[{i}]: {child.Resource} is created twice in one call");
            }

            contained.Add(new(child.Resource, childType, under, new SubjectRef(resource.Type, resource.Id), Resolve(childType, child.Attributes)));
        }

        if (type.Rules.Create is not { } rule)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"a {type.Name} cannot be created through the management API: the schema has no 'create by' rule for it");
        }

        if (!engine.Check(parent, rule.Permission, caller))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"creating a {type.Name} under {parent} needs {rule.Permission} there, which {caller} does not have");
        }

        List<NewObject> objects = [new(resource, type, rule.Under, new SubjectRef(parent.Type, parent.Id), topAttributes), .. contained];
        var written = objects.SelectMany(o => o.Attributes.Select(a => new Relationship(o.Resource, a.Relation.Name, a.Subject)).Prepend(new Relationship(o.Resource, o.Under.Name, o.Parent)))
            .Distinct()
            .ToList();
        var updates = written.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r)).ToList();

        // A subject a relation cannot hold is malformed input too.
        engine.Validate(updates);

        // Authority: attributes are facts about the new objects (a type, a creator), never roles handed out: a role is
        // granted once the object exists, under its grant rule, or creating an object would hand out roles no rule
        // allowed. A role may only link the new objects to each other (the production environment's type and mark),
        // which gives no existing subject anything. And an attribute naming someone of the caller's kind names the
        // caller: nobody records another as creator.
        var created = objects.Select(o => o.Resource).ToHashSet();
        foreach (var o in objects)
        {
            foreach (var (relation, subject) in o.Attributes)
            {
                if (o.Type.Rules.Roles.Contains(relation) && (subject.IsSubjectSet || !created.Contains(subject.Object)))
                {
                    throw new AuthzException(AuthzErrorKind.PermissionDenied,
                        $"{o.Type.Name}#{relation.Name} is a role: grant it with GrantRole once {o.Resource} exists (its grant rule decides who may); on creation it may only name an object created in the same call");
                }

                if (subject.Type == caller.Type && !subject.IsSubjectSet && subject != caller)
                {
                    throw new AuthzException(AuthzErrorKind.PermissionDenied, $"attribute {relation.Name}@{subject}: an attribute naming a {caller.Type} names the caller ({caller}), who creates {o.Resource}");
                }
            }
        }

        // State, judged on the state after the whole call: the new objects' relationships are visible to match rules.
        if (objects.FirstOrDefault(o => Exists(o.Resource)) is { } existing)
        {
            throw new AuthzException(AuthzErrorKind.AlreadyExists, $"{existing.Resource} already exists");
        }

        foreach (var o in objects)
        {
            if (o.Attributes.GroupBy(a => a.Relation).FirstOrDefault(g => o.Type.Rules.Single.Contains(g.Key) && g.Select(a => a.Subject).Distinct().Count() > 1) is { } several)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"single {several.Key.Name}: {o.Resource} would hold {string.Join(" and ", several.Select(a => a.Subject).Distinct())} as {several.Key.Name}");
            }

            foreach (var (relation, subject) in o.Attributes)
            {
                RequireGrantState(o.Resource, o.Type, relation, subject, written);
            }

            foreach (var bySubject in o.Attributes.GroupBy(a => a.Subject))
            {
                RequireExclusive(o.Resource, o.Type, bySubject.Key, [.. bySubject.Select(a => a.Relation).Distinct()], []);
            }
        }

        RequireUniqueAcrossObjects(updates);
        foreach (var o in objects)
        {
            RequireContent(o.Resource, o.Type, written);
        }

        return new ManagementPlan(updates, []);
    }

    /// <summary>
    /// Deletes <paramref name="resource"/> and everything it contains: every relationship stored on them and every one
    /// that names them as subject (group memberships, grants to the group). Members of a deleted group keep their
    /// other access.
    /// </summary>
    public ManagementPlan Delete(SubjectRef caller, ObjectRef resource)
    {
        var type = TypeOf(resource);
        if (type.Rules.Delete is not { } by)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"a {type.Name} cannot be deleted through the management API: the schema has no 'delete by' rule for it");
        }

        if (!Has(caller, resource, by))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"deleting {resource} needs {by.Name}, which {caller} does not have");
        }

        if (!Exists(resource))
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"{resource} does not exist");
        }

        var deleted = _containment.Below(resource).Prepend(resource).ToHashSet();
        var removed = deleted.SelectMany(o => engine.Read(new RelationshipFilter(o.Type, o.Id)).Concat(NamingAsSubject(o))).Distinct().ToList();

        // The objects that go away need no minimum; those that stay keep theirs (a group may be some org's only owner).
        RequireMinimums([.. removed.Where(r => !deleted.Contains(r.Resource))]);

        // An object another one requires (a project's production environment) goes only with that object.
        foreach (var mark in removed.Where(r => deleted.Contains(r.Resource) && !r.Subject.IsSubjectSet && !deleted.Contains(r.Subject.Object)))
        {
            if (Schema.TryGetType(mark.Subject.Type, out var holderType) &&
                holderType.Rules.Require.FirstOrDefault(q => q.Mark.Owner.Name == mark.Resource.Type && q.Mark.Name == mark.Relation) is { } required)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"require one {required.Mark.Owner.Name}#{required.Mark.Name}: {mark.Resource} is the {required.Mark.Name} of {mark.Subject.Object}, which needs exactly one; it goes only with {mark.Subject.Object}");
            }
        }
        return new ManagementPlan([.. removed.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r))], removed);
    }

    /// <summary>
    /// Checks that the caller may grant each relation on the resource (as an invitation carries them); the invitee is
    /// not known yet, so <c>except self</c> does not apply.
    /// </summary>
    public IReadOnlyList<AcceptCondition> RequireGrantAuthority(SubjectRef caller, ObjectRef resource, IEnumerable<string> relations) =>
        RequireGrantAuthority(caller, [new ObjectRoleChange(resource, RoleChangeKind.Grant, [.. relations])]);

    /// <summary>
    /// Checks that the caller may grant every role of every item, as an invitation carries them (R14: a project role and
    /// environment-type roles in one invitation). The invitee is not known yet: <c>except self</c> and <c>unless</c> do
    /// not apply, and a rule's <c>to</c> condition is left for acceptance. A role allowed only by rules with <c>to</c>
    /// yields a condition the accepting subject must meet (<see cref="Accept"/>). InvalidArgument for an unknown role or
    /// an object named twice; PermissionDenied for the first role no rule of the caller's allows.
    /// </summary>
    public IReadOnlyList<AcceptCondition> RequireGrantAuthority(SubjectRef caller, IReadOnlyList<ObjectRoleChange> grants)
    {
        ArgumentNullException.ThrowIfNull(grants);
        RequireDistinctObjects(grants);
        var resolved = grants.Select(g => (g.Resource, Type: TypeOf(g.Resource), Relations: g.Roles.Select(r => RelationOf(TypeOf(g.Resource), r)).ToList())).ToList();
        var conditions = new List<AcceptCondition>();
        foreach (var (resource, type, relations) in resolved)
        {
            RequireInviteRule(caller, resource, type);
            foreach (var relation in relations.Distinct())
            {
                if (RequireInvitationRule(caller, resource, type, relation) is { } condition)
                {
                    conditions.Add(condition);
                }
            }
        }

        return conditions;
    }

    // The rules that let the caller grant the relation to a subject not known yet, judged without their subject
    // conditions ('to', 'unless'): none is the closest refusal; one without either allows it outright; otherwise the
    // accepter must meet the conditions of one of them.
    private AcceptCondition? RequireInvitationRule(SubjectRef caller, ObjectRef resource, TypeDefinition type, RelationDefinition relation)
    {
        if (!type.Rules.Grant.TryGetValue(relation, out var rules))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{type.Name}#{relation.Name} cannot be granted through the management API: the schema has no grant rule for it");
        }

        var allowing = rules.Where(r => Judge(r, caller, resource, relation, subject: null, "granting", deferTo: true).Refusal is null).ToList();
        if (allowing.Count == 0)
        {
            // Throws the closest authority refusal; with no subject nothing is deferred.
            throw RequireAnyRule(rules, caller, resource, relation, subject: null, "granting")
                ?? new AuthzException(AuthzErrorKind.PermissionDenied, $"granting {relation.Name} on {resource}: no rule allows {caller}");
        }

        return allowing.Any(r => r.To is null && r.Unless is null)
            ? null
            : new AcceptCondition(resource, relation.Name, [.. allowing.Select(r => new SubjectCondition(r.To?.Name, r.Unless?.Name)).Distinct()]);
    }

    /// <summary>
    /// The grants an accepted invitation makes for <paramref name="invitee"/>, all or nothing: each item's roles and the
    /// base memberships they imply, judged by the state rules <see cref="ChangeRoles"/> applies to a grant (against the
    /// state before the acceptance). Authority was checked when the invitation was made; the <c>to</c> conditions it left
    /// (<paramref name="conditions"/>) are checked now, against the invitee: FailedPrecondition when it meets none of a
    /// role's (a project owner's invitation accepted by someone who is not a platform user yet).
    /// </summary>
    public ManagementPlan Accept(IReadOnlyList<ObjectRoleChange> grants, IReadOnlyList<AcceptCondition> conditions, SubjectRef invitee)
    {
        ArgumentNullException.ThrowIfNull(grants);
        ArgumentNullException.ThrowIfNull(conditions);
        RequireDistinctObjects(grants);
        foreach (var condition in conditions)
        {
            if (!condition.AnyOf.Any(c => Meets(invitee, condition.Resource, c)))
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, Unmet(invitee, condition));
            }
        }

        var deltas = grants.Select(g => Resolve(g with { Kind = RoleChangeKind.Grant }, invitee)).ToList();
        return PlanStates(deltas, invitee);
    }

    // Whether the subject meets what one allowing rule asked of it; a name the schema no longer has is not met.
    private bool Meets(SubjectRef subject, ObjectRef resource, SubjectCondition condition)
    {
        var type = TypeOf(resource);
        bool Holds(string? name) => name is not null && type.TryGetMember(name, out var member) && Has(subject, resource, member);
        return (condition.To is null || Holds(condition.To)) && (condition.Unless is null || (type.TryGetMember(condition.Unless, out _) && !Holds(condition.Unless)));
    }

    // Why an accepter meets none of a condition's alternatives, in the words of the rules.
    private static string Unmet(SubjectRef invitee, AcceptCondition condition)
    {
        var needs = condition.AnyOf.Where(c => c.To is not null).Select(c => c.To!).Distinct(StringComparer.Ordinal).ToList();
        var protects = condition.AnyOf.Where(c => c.Unless is not null).Select(c => c.Unless!).Distinct(StringComparer.Ordinal).ToList();
        var why = needs.Count > 0 && protects.Count == 0
            ? $"{invitee} must first have {string.Join(" or ", needs)} on {condition.Resource} (someone who may bring newcomers must add them first)"
            : $"{invitee} meets none of {string.Join(", ", condition.AnyOf)} on {condition.Resource}";
        return $"{string.Join(" or ", condition.AnyOf)}: {why}; the invitation's {condition.Role} there was allowed only for such subjects";
    }

    // One item of a batch with its roles resolved: the relations it adds (those not held yet) and removes, and every
    // relation it names to be held afterwards (Named), whose grant authority is judged even when already held, so that
    // a caller without authority is refused rather than told whether the subject holds the role (R24).
    private sealed record RoleDelta(ObjectRef Resource, TypeDefinition Type, List<RelationDefinition> Adding, List<RelationDefinition> Removing, List<RelationDefinition> Named);

    // Resolves an item's roles against the schema and the subject's roles now; only malformed input is refused here.
    private RoleDelta Resolve(ObjectRoleChange change, SubjectRef subject)
    {
        var type = TypeOf(change.Resource);
        var named = change.Roles.Select(r => RelationOf(type, r)).Distinct().ToList();
        var (add, remove) = change.Kind switch
        {
            RoleChangeKind.Grant => (named, new List<RelationDefinition>()),
            RoleChangeKind.Revoke => (new List<RelationDefinition>(), named),
            RoleChangeKind.Set => Difference(change.Resource, type, subject, named),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change.Kind, "not a role change kind"),
        };
        var adding = add.Where(r => !Holds(change.Resource, r, subject)).ToList();

        // A subject the relation cannot hold (unknown type, wrong type, a wildcard or subject set it does not allow) is
        // malformed input: INVALID_ARGUMENT whoever asks, before authority is judged.
        engine.Validate([.. adding.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, new Relationship(change.Resource, r.Name, subject)))]);
        return new RoleDelta(change.Resource, type, adding, remove, change.Kind == RoleChangeKind.Revoke ? [] : named);
    }

    // What makes the subject's roles (the base membership aside) exactly the wanted ones: what to add, what to remove.
    private (List<RelationDefinition> Add, List<RelationDefinition> Remove) Difference(ObjectRef resource, TypeDefinition type, SubjectRef subject, List<RelationDefinition> wanted)
    {
        var current = type.Rules.Roles.Where(r => r != type.Rules.Base && Holds(resource, r, subject)).ToList();
        return ([.. wanted.Except(current)], [.. current.Except(wanted)]);
    }

    // The state rules of one item, once every item's authority has passed; its updates and what it removes.
    private ManagementPlan PlanState(RoleDelta delta, SubjectRef subject)
    {
        var (resource, type, adding, removing, _) = delta;
        foreach (var relation in removing)
        {
            RequireHeld(resource, relation, subject);
            if (type.Rules.Base == relation)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"base {relation.Name}: {relation.Name} of {resource} is the base membership and cannot be revoked alone; remove the member instead");
            }

            RequireMutable(resource, type, relation);
        }

        foreach (var relation in adding)
        {
            RequireGrantState(resource, type, relation, subject);
        }

        RequireExclusive(resource, type, subject, adding, removing);
        var removed = removing.Select(r => new Relationship(resource, r.Name, subject)).ToList();

        // A single-valued relation changes value in one step: its current subject goes as the new one comes.
        removed.AddRange(adding.Where(type.Rules.Single.Contains)
            .SelectMany(r => engine.Read(new RelationshipFilter(resource.Type, resource.Id, r.Name)))
            .Where(r => r.Subject != subject));
        RequireMinimums(removed);
        var added = adding.Select(r => new Relationship(resource, r.Name, subject)).ToList();
        if (adding.Count > 0)
        {
            added.AddRange(BaseMemberships(resource, subject).Except(added));
        }

        var updates = removed.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r))
            .Concat(added.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r)))
            .ToList();
        engine.Validate(updates);
        return new ManagementPlan(updates, removed);
    }

    // Each item (or created object) checks a unique relation against the state before the call, so two of them could
    // each give one subject the same unique relation on a different object; the call as a whole may not.
    private void RequireUniqueAcrossObjects(List<RelationshipUpdate> updates)
    {
        var unique = updates.Where(u => u.Operation == RelationshipOperation.Touch)
            .Select(u => u.Relationship)
            .Where(r => TypeOf(r.Resource) is var type && type.Rules.Unique.Contains(RelationOf(type, r.Relation)))
            .GroupBy(r => (r.Resource.Type, r.Relation, r.Subject))
            .FirstOrDefault(g => g.Select(r => r.Resource).Distinct().Count() > 1);
        if (unique is not null)
        {
            throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                $"unique {unique.Key.Relation}: {unique.Key.Subject} would be {unique.Key.Relation} of {string.Join(" and ", unique.Select(r => r.Resource).Distinct())}");
        }
    }

    private void RequireHeld(ObjectRef resource, RelationDefinition relation, SubjectRef subject)
    {
        if (!Holds(resource, relation, subject))
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"{subject} does not hold {relation.Name} on {resource}");
        }
    }

    // Any one of the relation's grant rules that holds allows the grant. When none does, the refusal is the one of the
    // rule that came closest: a rule whose authority the caller has but whose subject condition fails says so.
    private AuthzException? RequireGrantAuthority(SubjectRef caller, ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef? subject)
    {
        if (!type.Rules.Grant.TryGetValue(relation, out var rules))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{type.Name}#{relation.Name} cannot be granted through the management API: the schema has no grant rule for it");
        }

        return RequireAnyRule(rules, caller, resource, relation, subject, "granting");
    }

    private AuthzException? RequireRevokeAuthority(SubjectRef caller, ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef subject)
    {
        if (!type.Rules.Revoke.TryGetValue(relation, out var rules))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{type.Name}#{relation.Name} cannot be revoked through the management API: the schema has no revoke rule for it");
        }

        return RequireAnyRule(rules, caller, resource, relation, subject, "revoking");
    }

    // Throws the closest authority refusal; returns (for the caller to throw once all authority is checked) a state
    // refusal, or null when a rule allows the change.
    private AuthzException? RequireAnyRule(IReadOnlyList<AccessRule> rules, SubjectRef caller, ObjectRef resource, RelationDefinition relation, SubjectRef? subject, string change)
    {
        AuthzException? closest = null;
        var closestStage = -1;
        foreach (var rule in rules)
        {
            var (stage, refusal) = Judge(rule, caller, resource, relation, subject, change);
            if (refusal is null)
            {
                return null;
            }

            if (stage > closestStage)
            {
                (closest, closestStage) = (refusal, stage);
            }
        }

        return closest!.Kind == AuthzErrorKind.FailedPrecondition ? closest : throw closest;
    }

    // How far a rule gets (0 authority, 1 no escalation, 2 self, 3 subject condition) and why it stops; null when it allows.
    private (int Stage, AuthzException? Refusal) Judge(
        AccessRule rule, SubjectRef caller, ObjectRef resource, RelationDefinition relation, SubjectRef? subject, string change, bool deferTo = false)
    {
        if (!Has(caller, resource, rule.By))
        {
            return (0, new(AuthzErrorKind.PermissionDenied, $"{change} {relation.Name} on {resource} needs {rule.By.Name}, which {caller} does not have"));
        }

        if (rule.Holding is { } holding && !Has(caller, resource, holding))
        {
            return (1, new(AuthzErrorKind.PermissionDenied, $"{change} {relation.Name} on {resource} needs holding {holding.Name} (no escalation), and {caller} does not"));
        }

        if (rule.ExceptSelf && subject == caller)
        {
            return (2, new(AuthzErrorKind.PermissionDenied, $"{caller} cannot change its own {relation.Name} on {resource}"));
        }

        // An invitation's subject is not known yet: its 'to' is judged at acceptance when deferred, else it is a newcomer.
        if (rule.To is { } to && !deferTo && (subject is not { } s || !Has(s, resource, to)))
        {
            var who = subject?.ToString() ?? "an invitee";
            return (3, new(AuthzErrorKind.PermissionDenied, $"{change} {relation.Name} on {resource} by {rule.By.Name} is for subjects that have {to.Name} there, and {who} does not"));
        }

        if (rule.Unless is { } unless && subject is { } protectedSubject && Has(protectedSubject, resource, unless))
        {
            return (3, new(AuthzErrorKind.FailedPrecondition, $"unless {unless.Name}: {protectedSubject} has {unless.Name} on {resource}, whose {relation.Name} cannot be changed this way"));
        }

        return (4, null);
    }

    // The state rules of adding relation@subject on the resource; pending: relationships the same call writes, which
    // match rules see (a new environment's type is of its new project).
    private void RequireGrantState(ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef subject, IReadOnlyList<Relationship>? pending = null)
    {
        RequireMutable(resource, type, relation);
        RequireMatch(resource, type, relation, subject, pending ?? []);
        RequireUniqueWhen(resource, type, relation, subject, pending ?? []);
        if (type.Rules.Unique.Contains(relation))
        {
            var elsewhere = engine.Read(new RelationshipFilter(resource.Type, null, relation.Name, Exactly(subject)))
                .FirstOrDefault(r => r.Resource != resource);
            if (elsewhere != default)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"unique {relation.Name}: {subject} is already {relation.Name} of {elsewhere.Resource}");
            }
        }
    }

    // A subject written to a relation with a match rule must belong where the rule says (a group of this project, a
    // type of this environment's project, this environment's own project).
    private void RequireMatch(ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef subject, IReadOnlyList<Relationship> pending)
    {
        if (!type.Rules.Match.TryGetValue(relation, out var match))
        {
            return;
        }

        var subjectObject = subject.Object;
        var fits = match.Mode switch
        {
            MatchMode.By => Values(subjectObject, match.Other, pending).Contains(resource),
            MatchMode.Within => Values(subjectObject, match.Other, pending).Intersect(Values(resource, match.Other, pending)).Any(),
            _ => Values(resource, match.Other, pending).Contains(subjectObject),
        };
        if (!fits)
        {
            var actual = match.Mode == MatchMode.As ? Values(resource, match.Other, pending) : Values(subjectObject, match.Other, pending);
            var owner = match.Mode == MatchMode.As ? resource : subjectObject;
            var has = actual.Count == 0 ? "has none" : "is " + string.Join(", ", actual);
            var mode = match.Mode.ToString().ToLowerInvariant();
            throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"match {relation.Name} {mode} {match.Other}: {relation.Name} of {resource} cannot be {subject}: the {match.Other} of {owner} {has}");
        }
    }

    // 'unique r when q': an object with q keeps its r subject to itself. Judged when r is written (a preview taking the
    // production type) and when q is (marking production an environment whose type another one shares).
    private void RequireUniqueWhen(ObjectRef resource, TypeDefinition type, RelationDefinition relation, SubjectRef subject, IReadOnlyList<Relationship> pending)
    {
        foreach (var (shared, when) in type.Rules.UniqueWhen)
        {
            var values = relation == shared ? [subject] : relation == when ? Subjects(resource, shared.Name, pending) : [];
            foreach (var value in values)
            {
                var holders = engine.Read(new RelationshipFilter(resource.Type, null, shared.Name, Exactly(value))).Select(r => r.Resource)
                    .Concat(pending.Where(r => r.Resource.Type == resource.Type && r.Relation == shared.Name && r.Subject == value).Select(r => r.Resource))
                    .Append(resource)
                    .Distinct()
                    .ToList();
                var marked = holders.Where(h => (h == resource && relation == when) || Subjects(h, when.Name, pending).Count > 0).ToList();
                if (holders.Count > 1 && marked.Count > 0)
                {
                    throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                        $"unique {shared.Name} when {when.Name}: {value} is the {shared.Name} of {marked[0]}, which has {when.Name}; {string.Join(" and ", holders.Where(h => h != marked[0]))} cannot have it too");
                }
            }
        }
    }

    // The subjects a relation of an object holds, counting what the call writes.
    private List<SubjectRef> Subjects(ObjectRef resource, string relation, IReadOnlyList<Relationship> pending) =>
        [.. engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation))
            .Concat(pending.Where(r => r.Resource == resource && r.Relation == relation))
            .Select(r => r.Subject)
            .Distinct()];

    // The objects a relation of an object holds, counting what the call writes.
    private List<ObjectRef> Values(ObjectRef resource, string relation, IReadOnlyList<Relationship> pending) =>
        [.. engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation))
            .Concat(pending.Where(r => r.Resource == resource && r.Relation == relation))
            .Select(r => r.Subject.Object)
            .Distinct()];

    // Each 'require one t#r' of a new object: exactly one object created with it is marked by r pointing at it.
    private static void RequireContent(ObjectRef resource, TypeDefinition type, IReadOnlyList<Relationship> written)
    {
        var self = new SubjectRef(resource.Type, resource.Id);
        foreach (var required in type.Rules.Require)
        {
            var marked = written.Where(r => r.Resource.Type == required.Mark.Owner.Name && r.Relation == required.Mark.Name && r.Subject == self)
                .Select(r => r.Resource)
                .Distinct()
                .ToList();
            if (marked.Count != 1)
            {
                var found = marked.Count == 0 ? "none" : string.Join(" and ", marked);
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"require one {required.Mark.Owner.Name}#{required.Mark.Name}: {resource} needs exactly one {required.Mark.Owner.Name} whose {required.Mark.Name} is {resource}, created with it (in children); the call has {found}");
            }
        }
    }

    // An object of a Create call, resolved: its type, the relation to its parent, and its attributes.
    private sealed record NewObject(ObjectRef Resource, TypeDefinition Type, RelationDefinition Under, SubjectRef Parent, List<(RelationDefinition Relation, SubjectRef Subject)> Attributes);

    private static List<(RelationDefinition Relation, SubjectRef Subject)> Resolve(TypeDefinition type, IReadOnlyList<(string Relation, SubjectRef Subject)> attributes) =>
        [.. attributes.Select(a => (RelationOf(type, a.Relation), a.Subject))];

    // One role per subject among each exclusive group, judged on the state after the change.
    private void RequireExclusive(ObjectRef resource, TypeDefinition type, SubjectRef subject, List<RelationDefinition> adding, List<RelationDefinition> removing)
    {
        foreach (var group in type.Rules.Exclusive)
        {
            var after = group.Where(r => adding.Contains(r) || (!removing.Contains(r) && Holds(resource, r, subject))).Select(r => r.Name).Order(StringComparer.Ordinal).ToList();
            if (after.Count > 1)
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"exclusive {string.Join(", ", group.Select(r => r.Name))}: {subject} would hold {string.Join(" and ", after)} on {resource}; change the role instead of adding one");
            }
        }
    }

    private void RequireMutable(ObjectRef resource, TypeDefinition type, RelationDefinition relation)
    {
        if (!type.Rules.Immutable.TryGetValue(relation, out var when))
        {
            return;
        }

        var isSet = engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation.Name)).Count > 0;
        var applies = when is null || engine.Read(new RelationshipFilter(resource.Type, resource.Id, when.Name)).Count > 0;
        if (isSet && applies)
        {
            var reason = when is null ? string.Empty : $" while {when.Name} is set";
            throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"immutable {relation.Name}: {relation.Name} of {resource} cannot change{reason}");
        }
    }

    // The last holders stay: a removal may not take a relation with a minimum below it.
    private void RequireMinimums(IReadOnlyList<Relationship> removed)
    {
        foreach (var group in removed.GroupBy(r => (r.Resource, r.Relation)))
        {
            var type = TypeOf(group.Key.Resource);
            var relation = RelationOf(type, group.Key.Relation);
            if (type.Rules.Minimum.TryGetValue(relation, out var minimum))
            {
                var remaining = engine.Read(new RelationshipFilter(group.Key.Resource.Type, group.Key.Resource.Id, relation.Name)).Count - group.Count();
                if (remaining < minimum)
                {
                    throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"minimum {minimum} {relation.Name}: {group.Key.Resource} would keep {remaining}; give the {relation.Name} role to someone else first");
                }
            }
        }
    }

    // Every role of the subject on the resource and below it.
    private List<Relationship> Cascade(ObjectRef resource, SubjectRef subject)
    {
        var filter = Exactly(subject);
        return _containment.Below(resource).Prepend(resource)
            .SelectMany(o => engine.Read(new RelationshipFilter(o.Type, o.Id, null, filter)))
            .Where(r => TypeOf(r.Resource).Rules.Roles.Contains(RelationOf(TypeOf(r.Resource), r.Relation)))
            .Distinct()
            .ToList();
    }

    private ManagementPlan Remove(List<Relationship> removed)
    {
        RequireMinimums(removed);
        var updates = removed.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r)).ToList();
        return new ManagementPlan(updates, removed);
    }

    // Joining anything makes the subject a member of each enclosing object that declares a base membership.
    private IEnumerable<Relationship> BaseMemberships(ObjectRef resource, SubjectRef subject)
    {
        if (subject.IsSubjectSet || subject.IsWildcard)
        {
            yield break;
        }

        foreach (var holder in _containment.Above(resource).Prepend(resource))
        {
            var type = TypeOf(holder);
            if (type.Rules.Base is { } baseRelation && Schema.TryGetType(subject.Type, out var subjectType) &&
                baseRelation.Allows(subjectType, null, wildcard: false) && !Holds(holder, baseRelation, subject))
            {
                yield return new Relationship(holder, baseRelation.Name, subject);
            }
        }
    }

    private bool Exists(ObjectRef resource) =>
        engine.Read(new RelationshipFilter(resource.Type, resource.Id)).Count > 0 || NamingAsSubject(resource).Any();

    private IEnumerable<Relationship> NamingAsSubject(ObjectRef resource) =>
        Schema.Types.SelectMany(t => engine.Read(new RelationshipFilter(t.Name, null, null, new SubjectFilter(resource.Type, resource.Id))));

    private bool Has(SubjectRef caller, ObjectRef resource, MemberDefinition permission) =>
        engine.Check(resource, permission.Name, caller);

    private bool Holds(ObjectRef resource, RelationDefinition relation, SubjectRef subject) =>
        engine.Read(new RelationshipFilter(resource.Type, resource.Id, relation.Name, Exactly(subject))).Count > 0;

    private static SubjectFilter Exactly(SubjectRef subject) => new(subject.Type, subject.Id, subject.Relation ?? string.Empty);

    private TypeDefinition TypeOf(ObjectRef resource) => Schema.RequireType(resource.Type);

    private static RelationDefinition RelationOf(TypeDefinition type, string name) =>
        type.TryGetMember(name, out var member) && member is RelationDefinition relation
            ? relation
            : throw AuthzException.Invalid($"'{name}' is not a relation of '{type.Name}'");
}
