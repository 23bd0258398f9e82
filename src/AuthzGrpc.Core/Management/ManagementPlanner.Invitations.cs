using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace AuthzGrpc.Core.Management;

// Invitations: making them (the inviter's authority, judged for every invitee before anything is stored), resending
// and revoking them (authority over what an invitation carries, then its state), listing them, and accepting them
// (the invitee, then the invitation's state, then the grants' state rules against the accepter).
public sealed partial class ManagementPlanner
{
    /// <summary>
    /// Judges an invitation of every one of <paramref name="invitees"/> to <paramref name="resource"/> by
    /// <paramref name="caller"/>, before anything is stored: each invitee's roles must be relations of their objects'
    /// types, then the caller must be allowed to grant every role to someone not known yet (<see cref="RequireGrantAuthority(SubjectRef, IReadOnlyList{ObjectRoleChange})"/>).
    /// Returns, per invitee, the conditions its accepter must meet. With <paramref name="nameInvitees"/> (each invitee has
    /// roles of its own), a refusal names the invitee it is about; otherwise every invitee carries the same roles and the
    /// refusal, the same for all, names none.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<AcceptCondition>> Invite(SubjectRef caller, ObjectRef resource, IReadOnlyList<InvitedAddress> invitees, bool nameInvitees)
    {
        ArgumentNullException.ThrowIfNull(invitees);
        if (nameInvitees || invitees.Any(i => i.AccessExpiresAt is not null))
        {
            // Malformed input before authority, for every invitee (INVALID_ARGUMENT whoever asks); a time-boxed
            // invitation's roles must take expiring grants, which only this pass judges.
            foreach (var invitee in invitees)
            {
                RequireKnownRoles(invitee.Field, invitee.RoleChangesOn(resource));
            }
        }

        var conditions = new List<IReadOnlyList<AcceptCondition>>();
        foreach (var invitee in invitees)
        {
            try
            {
                conditions.Add(RequireGrantAuthority(caller, invitee.RoleChangesOn(resource)));
            }
            catch (AuthzException e) when (nameInvitees)
            {
                throw new AuthzException(e.Kind, $"{invitee.Field} ({invitee.Email}): {e.Message}; no invitation of the call was created");
            }
        }

        return conditions;
    }

    /// <summary>
    /// Judges resending invitation <paramref name="id"/> (<paramref name="invitation"/>, null when none has the id): the
    /// authority over it first (granting every role it carries), then its state (FailedPrecondition unless pending).
    /// </summary>
    public Invitation ResendInvitation(SubjectRef caller, string id, [NotNull] Invitation? invitation) => RequireChangeable(caller, id, invitation, "resend", "resent");

    /// <summary>Judges revoking invitation <paramref name="id"/>, as <see cref="ResendInvitation"/> judges resending it.</summary>
    public Invitation RevokeInvitation(SubjectRef caller, string id, [NotNull] Invitation? invitation) => RequireChangeable(caller, id, invitation, "revoke", "revoked");

    /// <summary>
    /// Whether <paramref name="caller"/> may list the invitations to <paramref name="resource"/>: it may grant some role
    /// there (each listed invitation is then also judged with <see cref="MaySee"/>).
    /// </summary>
    public bool MayListInvitations(SubjectRef caller, ObjectRef resource)
    {
        var roles = Schema.TryGetType(resource.Type, out var type) ? type.Members.OfType<RelationDefinition>().Select(m => m.Name) : [];
        foreach (var role in roles)
        {
            try
            {
                RequireGrantAuthority(caller, resource, [role]);
                return true;
            }
            catch (AuthzException)
            {
                // Not this one (a relation without a grant rule, or no authority).
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="caller"/> may grant every role <paramref name="invitation"/> carries, on every object: what seeing, resending or revoking it needs (A002-4).</summary>
    public bool MaySee(SubjectRef caller, Invitation invitation)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        try
        {
            RequireGrantAuthority(caller, invitation.RoleChanges);
            return true;
        }
        catch (AuthzException)
        {
            return false;
        }
    }

    /// <summary>
    /// The grants accepting <paramref name="invitation"/> (the one the token found; null: none) makes for
    /// <paramref name="accepter"/>. NotFound when no invitation has the token; then the invitee (R13 "by the invitee only":
    /// PermissionDenied unless the accepter's key carries the invited address as its verified email, or an admin key
    /// vouches for the accepter); then the invitation's state (FailedPrecondition unless pending); then
    /// <see cref="Accept"/>.
    /// </summary>
    public ManagementPlan AcceptInvitation([NotNull] Invitation? invitation, InvitationAccepter accepter)
    {
        ArgumentNullException.ThrowIfNull(accepter);
        if (invitation is null)
        {
            throw new AuthzException(AuthzErrorKind.NotFound, "no invitation has this token (it is mistyped, or a resend replaced it)");
        }

        if (!accepter.Vouched && !string.Equals(accepter.VerifiedEmail, invitation.Email, StringComparison.OrdinalIgnoreCase))
        {
            var carried = accepter.VerifiedEmail is null ? "carries no verified email" : "carries another address";
            throw new AuthzException(AuthzErrorKind.PermissionDenied,
                $"this invitation is for another address: the API key of {accepter.Subject} {carried} (accept with a key issued with the invited email)");
        }

        invitation.RequireOpen("accepted");
        if (invitation.AccessExpiresAt is { } access && access <= engine.Clock.GetUtcNow())
        {
            // Accepting would grant nothing that counts: said, rather than committed as roles already expired.
            throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                string.Create(CultureInfo.InvariantCulture, $"invitation {invitation.Id} gave access until {access:O}, which has passed: ask for a new invitation"));
        }

        return Accept(invitation.RoleChanges, invitation.Conditions, accepter.Subject);
    }

    // Authority over an existing invitation: granting every role it carries (A002-4), checked before its state. A refused
    // caller is told neither what the invitation carries nor whether it exists (R24): an unknown id is NOT_FOUND only
    // for a caller who may grant some role somewhere (who could invite, and so list invitations), that same refusal for
    // anyone else.
    private Invitation RequireChangeable(SubjectRef caller, string id, [NotNull] Invitation? invitation, string verb, string participle)
    {
        var refused = new AuthzException(AuthzErrorKind.PermissionDenied, $"{caller} may not {verb} invitation {id}: it needs the authority to grant every role the invitation carries");
        if (invitation is null)
        {
            throw MayGrantSomewhere(caller) ? new AuthzException(AuthzErrorKind.NotFound, $"invitation {id} does not exist") : refused;
        }

        if (!MaySee(caller, invitation))
        {
            throw refused;
        }

        invitation.RequireOpen(participle);
        return invitation;
    }

    // Whether any grant rule's permission is the caller's on some object: someone who may invite somewhere.
    private bool MayGrantSomewhere(SubjectRef caller) =>
        Schema.Types.Any(type => type.Rules.Grant.Values.SelectMany(rules => rules).Select(rule => rule.By.Name).Distinct()
            .Any(by => engine.LookupResources(type.Name, by, caller, limit: 1).Resources.Count > 0));

    // Malformed input before authority: an unknown type, or a role that is not a relation of its object's type.
    private void RequireKnownRoles(string field, IReadOnlyList<ObjectRoleChange> grants)
    {
        foreach (var grant in grants)
        {
            var type = Schema.TryGetType(grant.Resource.Type, out var found)
                ? found
                : throw new AuthzException(AuthzErrorKind.InvalidArgument, $"{field}: type '{grant.Resource.Type}' is not defined in the schema");
            foreach (var role in grant.Roles)
            {
                if (!type.TryGetMember(role, out var member) || member is not RelationDefinition relation)
                {
                    throw new AuthzException(AuthzErrorKind.InvalidArgument, $"{field}: '{role}' is not a relation of '{type.Name}'");
                }

                // A time-boxed invitation gives roles that expire: each relation must take an expiring subject.
                if (grant.ExpiresAt is not null && !relation.AllowedSubjects.Any(s => s.Expiring && s.Relation is null && !s.Wildcard))
                {
                    throw new AuthzException(AuthzErrorKind.InvalidArgument,
                        $"{field}: '{type.Name}#{role}' takes no time-boxed grant (no subject type 'with expiration' in the schema), so the invitation cannot expire its access");
                }
            }
        }
    }

    // 'invite by p': inviting to an object of this type needs p on it, judged on the inviter when the invitation is made.
    // A grant rule with 'to' may allow a role for subjects already there, which an invitation can only judge at acceptance;
    // this rule is about the inviter, so it refuses the invitation at once (A003-4: a Manage-users holder who is not a
    // project admin cannot bring anyone into a project).
    private void RequireInviteRule(SubjectRef caller, ObjectRef resource, TypeDefinition type)
    {
        if (type.Rules.Invite is { } invite && !Has(caller, resource, invite))
        {
            throw new AuthzException(AuthzErrorKind.PermissionDenied,
                $"inviting to {resource} needs {invite.Name} (the '{type.Name}' type's 'invite by' rule), which {caller} does not have");
        }
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
}
