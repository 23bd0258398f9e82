namespace AuthzGrpc.Core.Management;

// Roles: granting, revoking and setting a subject's roles on one object, or on several as one step (R33).
public sealed partial class ManagementPlanner
{
    /// <summary>
    /// Grants <paramref name="relation"/> on <paramref name="resource"/> to <paramref name="subject"/>, with the base
    /// memberships it implies; with <paramref name="expiresAt"/>, all of them only until then (a time-boxed grant).
    /// </summary>
    public ManagementPlan Grant(SubjectRef caller, ObjectRef resource, string relation, SubjectRef subject, DateTimeOffset? expiresAt = null) =>
        ChangeRoles(caller, subject, [new ObjectRoleChange(resource, RoleChangeKind.Grant, [relation], expiresAt)]);

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
    /// With <paramref name="expiresAt"/>, the roles it adds end then, and those it keeps are extended to then, never
    /// shortened (as <see cref="Grant"/> does).
    /// </summary>
    public ManagementPlan SetRoles(
        SubjectRef caller, ObjectRef resource, SubjectRef subject, IReadOnlyCollection<string> relations, DateTimeOffset? expiresAt = null)
    {
        ArgumentNullException.ThrowIfNull(relations);
        return ChangeRoles(caller, subject, [new ObjectRoleChange(resource, RoleChangeKind.Set, [.. relations], expiresAt)]);
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

    // One item of a batch with its roles resolved: the relations it adds (those not held yet) and removes, and every
    // relation it names to be held afterwards (Named), whose grant authority is judged even when already held, so that
    // a caller without authority is refused rather than told whether the subject holds the role (R24). Extending: the
    // named roles held until before ExpiresAt (null: for good), whose grant is carried on to it.
    private sealed record RoleDelta(
        ObjectRef Resource, TypeDefinition Type, List<RelationDefinition> Adding, List<RelationDefinition> Removing, List<RelationDefinition> Named,
        DateTimeOffset? ExpiresAt, List<RelationDefinition> Extending);

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
        var extending = change.Kind == RoleChangeKind.Revoke
            ? []
            : named.Where(r => !adding.Contains(r) && ExtendsHeld(change.Resource, r, subject, change.ExpiresAt)).ToList();

        // A subject the relation cannot hold (unknown type, wrong type, a wildcard or subject set it does not allow) is
        // malformed input: INVALID_ARGUMENT whoever asks, before authority is judged.
        // So is an expiry on a role whose relation does not take one for the subject's type (or none where it must).
        engine.Validate([.. adding.Concat(extending).Select(r => new RelationshipUpdate(RelationshipOperation.Touch, new Relationship(change.Resource, r.Name, subject) { ExpiresAt = change.ExpiresAt }))]);
        return new RoleDelta(change.Resource, type, adding, remove, change.Kind == RoleChangeKind.Revoke ? [] : named, change.ExpiresAt, extending);
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
        var (resource, type, adding, removing, _, expiresAt, extending) = delta;
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
        var added = adding.Concat(extending).Select(r => new Relationship(resource, r.Name, subject) { ExpiresAt = expiresAt }).ToList();
        if (added.Count > 0)
        {
            // A time-boxed grant implies base memberships that end with it, never permanent ones left behind; one that
            // outlasts them carries those it implies on with it, so the role never outlives its membership.
            added.AddRange(BaseMemberships(resource, subject, expiresAt is not null)
                .Concat(BaseMembershipsEndingBefore(resource, subject, expiresAt))
                .Except(added)
                .Select(r => r with { ExpiresAt = expiresAt }));
        }

        var updates = removed.Select(r => new RelationshipUpdate(RelationshipOperation.Delete, r))
            .Concat(added.Select(r => new RelationshipUpdate(RelationshipOperation.Touch, r)))
            .ToList();
        engine.Validate(updates);
        return new ManagementPlan(updates, removed);
    }

    // The base memberships implied on the resource and above it that the subject holds only until before expiresAt.
    private IEnumerable<Relationship> BaseMembershipsEndingBefore(ObjectRef resource, SubjectRef subject, DateTimeOffset? expiresAt) =>
        _containment.Above(resource).Prepend(resource)
            .Where(holder => TypeOf(holder).Rules.Base is { } baseRelation && ExtendsHeld(holder, baseRelation, subject, expiresAt))
            .Select(holder => new Relationship(holder, TypeOf(holder).Rules.Base!.Name, subject));

    private void RequireHeld(ObjectRef resource, RelationDefinition relation, SubjectRef subject)
    {
        if (!Holds(resource, relation, subject))
        {
            throw new AuthzException(AuthzErrorKind.NotFound, $"{subject} does not hold {relation.Name} on {resource}");
        }
    }

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
}
