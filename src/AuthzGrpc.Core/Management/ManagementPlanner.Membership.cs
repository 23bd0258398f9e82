namespace AuthzGrpc.Core.Management;

// Membership: removing a member (with the cascade to everything the object contains), several at once (003: "select
// the users to remove and click Remove users from organization"), and leaving.
public sealed partial class ManagementPlanner
{
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
        RequireGoverningPermission(caller, resource, rules => rules.LeaveBy, type => $"nobody may leave a {type}: the schema has no 'leave' rule for it", "leaving");

        var removed = Cascade(resource, caller);
        return removed.Count == 0
            ? throw new AuthzException(AuthzErrorKind.NotFound, $"{caller} holds nothing on {resource}")
            : Remove(removed);
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
                // A time-boxed holder does not count: last-owner protection that lapses by itself protects nothing.
                var gone = group.ToHashSet();
                var kept = engine.Read(new RelationshipFilter(group.Key.Resource.Type, group.Key.Resource.Id, relation.Name)).Where(r => !gone.Contains(r)).ToList();
                var remaining = kept.Count(r => r.ExpiresAt is null);
                if (remaining < minimum)
                {
                    var expiring = kept.Count - remaining;
                    throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                        $"minimum {minimum} {relation.Name}: {group.Key.Resource} would keep {remaining}" +
                        (expiring > 0 ? $" without an expiry ({expiring} more expire)" : string.Empty) +
                        $"; give the {relation.Name} role to someone else first");
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

    // Joining anything makes the subject a member of each enclosing object that declares a base membership (an
    // expiring one, for a time-boxed grant, where the base relation takes only those).
    private IEnumerable<Relationship> BaseMemberships(ObjectRef resource, SubjectRef subject, bool expiring = false)
    {
        if (subject.IsSubjectSet || subject.IsWildcard)
        {
            yield break;
        }

        foreach (var holder in _containment.Above(resource).Prepend(resource))
        {
            var type = TypeOf(holder);
            if (type.Rules.Base is { } baseRelation && Schema.TryGetType(subject.Type, out var subjectType) &&
                (baseRelation.Allows(subjectType, null, wildcard: false) || (expiring && baseRelation.Allows(subjectType, null, wildcard: false, expiring: true))) &&
                !Holds(holder, baseRelation, subject))
            {
                yield return new Relationship(holder, baseRelation.Name, subject);
            }
        }
    }

    /// <summary>
    /// Removes every subject of <paramref name="subjects"/> from <paramref name="resource"/> as one step, each exactly as
    /// <see cref="RemoveMember"/> would (the revoke rule of the base membership and of every role it holds on the
    /// resource; the cascade to everything the resource contains), every subject judged against the state before the
    /// call. A subject named twice is InvalidArgument; then authority is checked for every subject (PermissionDenied:
    /// the first refused one), then state — a subject holding nothing there (NotFound), a minimum the removals together
    /// would break (FailedPrecondition: two of three owners may go, not all three). Any refusal refuses the whole call.
    /// </summary>
    public ManagementPlan RemoveMembers(SubjectRef caller, ObjectRef resource, IReadOnlyList<SubjectRef> subjects)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        for (var i = 0; i < subjects.Count; i++)
        {
            var first = subjects.Take(i).ToList().IndexOf(subjects[i]);
            if (first >= 0)
            {
                throw AuthzException.Invalid($"subjects[{i}]: {subjects[i]} is already subjects[{first}]; name each subject once");
            }
        }

        var type = TypeOf(resource);

        // Authority first, for every subject: the right to remove members at all, before anything about what each holds
        // (R24); then the base membership and every role it holds here (an admin who may not touch owners may not remove
        // an owner in a batch either); state refusals wait until every subject has passed.
        foreach (var subject in subjects)
        {
            RequireRemoveAuthority(caller, resource, type, subject);
        }

        var deferred = subjects
            .SelectMany(s => type.Rules.Roles.Where(r => r == type.Rules.Base || Holds(resource, r, s)).Select(r => RequireRevokeAuthority(caller, resource, type, r, s)))
            .ToList()
            .FirstOrDefault(refusal => refusal is not null);
        if (deferred is not null)
        {
            throw deferred;
        }

        // Then state: each subject must hold something here or below; the minimums are judged on all removals together.
        var removed = new List<Relationship>();
        foreach (var subject in subjects)
        {
            var cascade = Cascade(resource, subject);
            if (cascade.Count == 0)
            {
                throw new AuthzException(AuthzErrorKind.NotFound, $"{subject} holds nothing on {resource} or below it");
            }

            removed.AddRange(cascade);
        }

        return Remove([.. removed.Distinct()]);
    }
}
