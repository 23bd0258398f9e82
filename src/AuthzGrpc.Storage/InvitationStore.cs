using System.Text.Json;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;

namespace AuthzGrpc.Storage;

/// <summary>
/// An invitation to create: one email, the resource (where it is listed) and its roles there, the hash of its token, how
/// long it lasts, and further grants on other objects made on acceptance.
/// </summary>
/// <remarks><paramref name="Conditions"/>: what the accepter must meet, where the inviter's rules said <c>to</c> or <c>unless</c>.</remarks>
public sealed record NewInvitation(
    string Id, string Email, ObjectRef Resource, IReadOnlyList<string> Roles, string TokenHash, TimeSpan ValidFor,
    IReadOnlyList<InvitationGrant>? Grants = null, IReadOnlyList<AcceptCondition>? Conditions = null, DateTimeOffset? AccessExpiresAt = null);

/// <summary>
/// The invitations: each state change commits at a new revision with an audit event in the same transaction. Rows are
/// read as <see cref="Invitation"/>s with their state as of the database's clock; the state rule each change re-checks
/// in its transaction is the Core's (<see cref="Invitation.RequireOpen"/>), against what another replica may have
/// committed.
/// </summary>
public sealed class InvitationStore(AuthzDatabase database)
{
    // The stored states (InvitationRow.Status); expired is computed, never stored.
    private const string StoredPending = "pending";
    private const string StoredAccepted = "accepted";
    private const string StoredRevoked = "revoked";

    /// <summary>
    /// Creates pending invitations, one audit event <c>InviteMember</c> each (never the token's hash); FailedPrecondition
    /// (nothing created) when an email already has a pending, unexpired invitation to the resource.
    /// </summary>
    public Task<(long Revision, IReadOnlyList<Invitation> Invitations)> CreateAsync(
        IReadOnlyList<NewInvitation> invitations, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invitations);
        return database.WriteAsync<(long, IReadOnlyList<Invitation>)>("InviteMembers", actor, async unit =>
        {
            var (context, revision, now) = unit;
            var created = new List<Invitation>();
            foreach (var invitation in invitations)
            {
                var (type, id, email) = (invitation.Resource.Type, invitation.Resource.Id, invitation.Email);
                var pending = await context.Invitations.AsNoTracking()
                    .Where(i => i.ResourceType == type && i.ResourceId == id && i.Email == email && i.Status == StoredPending)
                    .ToListAsync(cancellationToken).ConfigureAwait(false);
                if (pending.FirstOrDefault(i => Utc(i.ExpiresAt) > now) is { } open)
                {
                    throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                        $"an invitation of {email} to {invitation.Resource} is already pending: {open.Id} (resend or revoke it)");
                }

                var row = new InvitationRow
                {
                    Id = invitation.Id,
                    Email = email,
                    ResourceType = type,
                    ResourceId = id,
                    RolesJson = JsonSerializer.Serialize(invitation.Roles),
                    GrantsJson = JsonSerializer.Serialize((invitation.Grants ?? []).Select(g => new StoredGrant(g.Resource.ToString(), [.. g.Roles]))),
                    ConditionsJson = JsonSerializer.Serialize((invitation.Conditions ?? []).Select(c => new StoredCondition(c.Resource.ToString(), c.Role, [.. c.AnyOf.Select(a => new StoredSubjectCondition(a.To, a.Unless))]))),
                    TokenHash = invitation.TokenHash,
                    Status = StoredPending,
                    InvitedBy = actor,
                    CreatedAt = now,
                    SentAt = now,
                    ExpiresAt = now + invitation.ValidFor,
                    AccessExpiresAt = invitation.AccessExpiresAt?.UtcDateTime,
                };
                context.Invitations.Add(row);
                created.Add(ToInvitation(row, now));
                unit.Audit("InviteMember", invitation.Resource.ToString(), null, Describe(row));
            }

            return ((revision, created), created.Count > 0);
        }, cancellationToken);
    }

    /// <summary>The invitations to <paramref name="resource"/>, newest first.</summary>
    public async Task<IReadOnlyList<Invitation>> ListAsync(ObjectRef resource, CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var rows = await context.Invitations.AsNoTracking()
                .Where(i => i.ResourceType == resource.Type && i.ResourceId == resource.Id)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            var now = database.UtcNow;
            return [.. rows.OrderByDescending(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal).Select(row => ToInvitation(row, now))];
        }
    }

    /// <summary>The invitation with <paramref name="id"/>, or null.</summary>
    public async Task<Invitation?> FindAsync(string id, CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var row = await context.Invitations.AsNoTracking().SingleOrDefaultAsync(i => i.Id == id, cancellationToken).ConfigureAwait(false);
            return row is null ? null : ToInvitation(row, database.UtcNow);
        }
    }

    /// <summary>The invitation whose token hashes to <paramref name="tokenHash"/>, or null.</summary>
    public async Task<Invitation?> FindByTokenAsync(string tokenHash, CancellationToken cancellationToken = default)
    {
        var context = database.OpenContext();
        await using (context.ConfigureAwait(false))
        {
            var row = await context.Invitations.AsNoTracking().SingleOrDefaultAsync(i => i.TokenHash == tokenHash, cancellationToken).ConfigureAwait(false);
            return row is null ? null : ToInvitation(row, database.UtcNow);
        }
    }

    /// <summary>
    /// Gives a pending invitation a new token (the old one stops working) and a new expiry; NotFound for an unknown id,
    /// FailedPrecondition unless it is pending and unexpired. Audit event <c>ResendInvitation</c>.
    /// </summary>
    public Task<(long Revision, Invitation Invitation)> ResendAsync(
        string id, string tokenHash, TimeSpan validFor, string actor, CancellationToken cancellationToken = default) =>
        database.WriteAsync<(long, Invitation)>("ResendInvitation", actor, async unit =>
        {
            var (_, revision, now) = unit;
            var row = await LoadOpenInvitationAsync(unit, id, "resent", cancellationToken).ConfigureAwait(false);
            row.TokenHash = tokenHash;
            row.SentAt = now;
            row.ExpiresAt = now + validFor;
            unit.Audit("ResendInvitation", $"{row.ResourceType}:{row.ResourceId}", null, Describe(row));
            return ((revision, ToInvitation(row, now)), true);
        }, cancellationToken);

    /// <summary>
    /// Revokes a pending invitation; NotFound for an unknown id, FailedPrecondition unless it is pending and unexpired.
    /// Audit event <c>RevokeInvitation</c>.
    /// </summary>
    public Task<(long Revision, Invitation Invitation)> RevokeAsync(string id, string actor, CancellationToken cancellationToken = default) =>
        database.WriteAsync<(long, Invitation)>("RevokeInvitation", actor, async unit =>
        {
            var (_, revision, now) = unit;
            var row = await LoadOpenInvitationAsync(unit, id, "revoked", cancellationToken).ConfigureAwait(false);
            var before = Describe(row);
            row.Status = StoredRevoked;
            row.RevokedAt = now;
            unit.Audit("RevokeInvitation", $"{row.ResourceType}:{row.ResourceId}", before, Describe(row));
            return ((revision, ToInvitation(row, now)), true);
        }, cancellationToken);

    /// <summary>
    /// Accepts the invitation <paramref name="id"/> (still holding <paramref name="tokenHash"/>) for
    /// <paramref name="invitee"/> in one transaction: the relationship changes, the invitation marked accepted, the
    /// invitee's email recorded, and an audit event <c>AcceptInvitation</c>. NotFound when the token no longer names it;
    /// FailedPrecondition when it is not pending, has expired, or its email belongs to another subject.
    /// </summary>
    public Task<(long Revision, Invitation Invitation)> AcceptAsync(
        string id, string tokenHash, SubjectRef invitee, IReadOnlyList<RelationshipUpdate> updates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var actor = invitee.ToString();
        return database.WriteAsync<(long, Invitation)>("AcceptInvitation", actor, async unit =>
        {
            var (context, revision, now) = unit;
            var row = await context.Invitations.SingleOrDefaultAsync(i => i.Id == id && i.TokenHash == tokenHash, cancellationToken).ConfigureAwait(false)
                ?? throw new AuthzException(AuthzErrorKind.NotFound, "no invitation has this token (a resend replaces the token)");
            ToInvitation(row, now).RequireOpen("accepted");

            var (type, subjectId) = (invitee.Type, invitee.Id);
            var email = row.Email;
            var holder = await context.Principals.SingleOrDefaultAsync(p => p.Email == email, cancellationToken).ConfigureAwait(false);
            if (holder is not null && (holder.SubjectType != type || holder.SubjectId != subjectId))
            {
                throw new AuthzException(AuthzErrorKind.FailedPrecondition,
                    $"invitation {row.Id} cannot be accepted by {invitee}: {email} belongs to {holder.SubjectType}:{holder.SubjectId}");
            }

            if (holder is null)
            {
                var principal = await context.Principals.SingleOrDefaultAsync(p => p.SubjectType == type && p.SubjectId == subjectId, cancellationToken).ConfigureAwait(false);
                if (principal is null)
                {
                    context.Principals.Add(new PrincipalRow { SubjectType = type, SubjectId = subjectId, Email = email, CreatedAt = now });
                }
                else
                {
                    principal.Email = email;
                }
            }

            var (added, _) = await unit.ApplyUpdatesAsync(updates, cancellationToken).ConfigureAwait(false);
            var before = Describe(row);
            row.Status = StoredAccepted;
            row.AcceptedAt = now;
            row.AcceptedBy = actor;
            var after = JsonSerializer.Serialize(new { invitation = row.Id, email = row.Email, added = added.Select(r => r.ToString()).ToArray() });
            unit.Audit("AcceptInvitation", $"{row.ResourceType}:{row.ResourceId}", before, after);
            return ((revision, ToInvitation(row, now)), true);
        }, cancellationToken);
    }

    private static async Task<InvitationRow> LoadOpenInvitationAsync(UnitOfWork unit, string id, string what, CancellationToken cancellationToken)
    {
        var row = await unit.Context.Invitations.SingleOrDefaultAsync(i => i.Id == id, cancellationToken).ConfigureAwait(false)
            ?? throw new AuthzException(AuthzErrorKind.NotFound, $"invitation {id} does not exist");
        ToInvitation(row, unit.Now).RequireOpen(what);
        return row;
    }

    // The Core's view of a row at the store's clock: the stored state names mapped, a pending one past its expiry expired.
    private static Invitation ToInvitation(InvitationRow row, DateTime now)
    {
        var stored = row.Status switch
        {
            StoredPending => InvitationState.Pending,
            StoredAccepted => InvitationState.Accepted,
            StoredRevoked => InvitationState.Revoked,
            _ => throw new InvalidOperationException($"invitation {row.Id} has the unknown stored state '{row.Status}'"),
        };
        return new Invitation(row.Id, row.Email, new ObjectRef(row.ResourceType, row.ResourceId), RolesOf(row), GrantsOf(row), ConditionsOf(row))
        {
            TokenHash = row.TokenHash,
            State = Invitation.StateAt(stored, Utc(row.ExpiresAt), now),
            InvitedBy = row.InvitedBy,
            CreatedAt = Utc(row.CreatedAt),
            ExpiresAt = Utc(row.ExpiresAt),
            SentAt = row.SentAt is { } sent ? Utc(sent) : null,
            AcceptedAt = row.AcceptedAt is { } accepted ? Utc(accepted) : null,
            AcceptedBy = row.AcceptedBy,
            AccessExpiresAt = row.AccessExpiresAt is { } access ? new DateTimeOffset(Utc(access)) : null,
        };
    }

    private static string[] RolesOf(InvitationRow row) => JsonSerializer.Deserialize<string[]>(row.RolesJson) ?? [];

    private static InvitationGrant[] GrantsOf(InvitationRow row)
    {
        var stored = row.GrantsJson.Length == 0 ? [] : JsonSerializer.Deserialize<StoredGrant[]>(row.GrantsJson) ?? [];
        return [.. stored.Select(g => new InvitationGrant(ObjectRef.Parse(g.Resource), g.Roles))];
    }

    private static AcceptCondition[] ConditionsOf(InvitationRow row)
    {
        var stored = row.ConditionsJson.Length == 0 ? [] : JsonSerializer.Deserialize<StoredCondition[]>(row.ConditionsJson) ?? [];
        return [.. stored.Select(c => new AcceptCondition(ObjectRef.Parse(c.Resource), c.Role, [.. c.AnyOf.Select(a => new SubjectCondition(a.To, a.Unless))]))];
    }

    // What the audit log shows of an invitation: never its token or the token's hash (nor an access expiry it has not).
    private static readonly JsonSerializerOptions DescribeOptions = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private static string Describe(InvitationRow row) => JsonSerializer.Serialize(new
    {
        id = row.Id,
        email = row.Email,
        roles = RolesOf(row),
        grants = GrantsOf(row).Select(g => new { resource = g.Resource.ToString(), roles = g.Roles }),
        status = row.Status,
        expires_at = Utc(row.ExpiresAt),
        access_expires_at = row.AccessExpiresAt is { } access ? Utc(access) : (DateTime?)null,
    }, DescribeOptions);

    private static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);

    // One acceptance condition as ConditionsJson stores it.
    private sealed record StoredCondition(
        [property: System.Text.Json.Serialization.JsonPropertyName("resource")] string Resource,
        [property: System.Text.Json.Serialization.JsonPropertyName("role")] string Role,
        [property: System.Text.Json.Serialization.JsonPropertyName("any_of")] StoredSubjectCondition[] AnyOf);

    // One alternative of a stored condition: what one of the inviter's rules asked of the subject.
    private sealed record StoredSubjectCondition(
        [property: System.Text.Json.Serialization.JsonPropertyName("to")] string? To,
        [property: System.Text.Json.Serialization.JsonPropertyName("unless")] string? Unless);

    // One further grant as GrantsJson stores it.
    private sealed record StoredGrant(
        [property: System.Text.Json.Serialization.JsonPropertyName("resource")] string Resource,
        [property: System.Text.Json.Serialization.JsonPropertyName("roles")] string[] Roles);

}
