namespace AuthzGrpc.Core.Management;

// Authority: whether the caller may make a change at all, judged by the schema's grant and revoke rules before any
// state rule (R24), so that a refused caller learns nothing about the state. Every operation family judges here.
public sealed partial class ManagementPlanner
{
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

    // An operation one rule of the type governs (leave, delete by, keys by): refused when the type has no such rule
    // (nobody may) or the caller lacks the permission it names on the object.
    private void RequireGoverningPermission(SubjectRef caller, ObjectRef resource, Func<ManagementRules, MemberDefinition?> rule, Func<string, string> withoutRule, string doing)
    {
        var type = TypeOf(resource);
        if (rule(type.Rules) is not { } permission)
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, withoutRule(type.Name));
        }

        if (!Has(caller, resource, permission))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied, $"{doing} {resource} needs {permission.Name}, which {caller} does not have");
        }
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
}
