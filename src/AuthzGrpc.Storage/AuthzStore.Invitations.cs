using System.Text.Json;
using AuthzGrpc.Core;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace AuthzGrpc.Storage;

/// <summary>
/// An invitation to create: one email, the resource (where it is listed) and its roles there, the hash of its token, how
/// long it lasts, and further grants on other objects made on acceptance.
/// </summary>
/// <remarks><paramref name="Conditions"/>: what the accepter must meet, where the inviter's rules said <c>to</c> or <c>unless</c>.</remarks>
public sealed record NewInvitation(
    string Id, string Email, ObjectRef Resource, IReadOnlyList<string> Roles, string TokenHash, TimeSpan ValidFor,
    IReadOnlyList<InvitationGrant>? Grants = null, IReadOnlyList<Core.Management.AcceptCondition>? Conditions = null);

/// <summary>Roles on one object that an invitation grants on acceptance, besides those on its own resource.</summary>
public sealed record InvitationGrant(ObjectRef Resource, IReadOnlyList<string> Roles);

/// <summary>The invitations: each state change commits at a new revision with an audit event in the same transaction.</summary>
public sealed partial class AuthzStore
{
    /// <summary>The state of a pending invitation.</summary>
    public const string InvitationPending = "pending";

    /// <summary>The state of an accepted invitation.</summary>
    public const string InvitationAccepted = "accepted";

    /// <summary>The state of a revoked invitation.</summary>
    public const string InvitationRevoked = "revoked";

    /// <summary>The state of a pending invitation whose expiry has passed (computed, never stored).</summary>
    public const string InvitationExpired = "expired";

    /// <summary>The store's clock, in UTC (the one that stamps writes and expires invitations).</summary>
    public DateTime UtcNow => _time.GetUtcNow().UtcDateTime;

    /// <summary>The state of <paramref name="row"/> at <paramref name="now"/>: a pending one past its expiry is expired.</summary>
    public static string InvitationState(InvitationRow row, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(row);
        return row.Status == InvitationPending && Utc(row.ExpiresAt) <= now ? InvitationExpired : row.Status;
    }

    /// <summary>The roles an invitation grants.</summary>
    public static IReadOnlyList<string> InvitationRoles(InvitationRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return JsonSerializer.Deserialize<string[]>(row.RolesJson) ?? [];
    }

    /// <summary>The grants an invitation makes on objects other than its resource, in the order given.</summary>
    public static IReadOnlyList<InvitationGrant> InvitationGrants(InvitationRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var stored = row.GrantsJson.Length == 0 ? [] : JsonSerializer.Deserialize<StoredGrant[]>(row.GrantsJson) ?? [];
        return [.. stored.Select(g => new InvitationGrant(ObjectRef.Parse(g.Resource), g.Roles))];
    }

    /// <summary>The conditions the accepting subject must meet (<see cref="Core.Management.ManagementPlanner.Accept"/>).</summary>
    public static IReadOnlyList<Core.Management.AcceptCondition> InvitationConditions(InvitationRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var stored = row.ConditionsJson.Length == 0 ? [] : JsonSerializer.Deserialize<StoredCondition[]>(row.ConditionsJson) ?? [];
        return [.. stored.Select(c => new Core.Management.AcceptCondition(ObjectRef.Parse(c.Resource), c.Role, [.. c.AnyOf.Select(a => new Core.Management.SubjectCondition(a.To, a.Unless))]))];
    }

    /// <summary>
    /// Creates pending invitations, one audit event <c>InviteMember</c> each (never the token's hash); FailedPrecondition
    /// (nothing created) when an email already has a pending, unexpired invitation to the resource.
    /// </summary>
    public Task<(long Revision, IReadOnlyList<InvitationRow> Invitations)> CreateInvitationsAsync(
        IReadOnlyList<NewInvitation> invitations, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invitations);
        return WriteAsync<(long, IReadOnlyList<InvitationRow>)>("InviteMembers", actor, async (context, revision, now) =>
        {
            var rows = new List<InvitationRow>();
            foreach (var invitation in invitations)
            {
                var (type, id, email) = (invitation.Resource.Type, invitation.Resource.Id, invitation.Email);
                var pending = await context.Invitations.AsNoTracking()
                    .Where(i => i.ResourceType == type && i.ResourceId == id && i.Email == email && i.Status == InvitationPending)
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
                    Status = InvitationPending,
                    InvitedBy = actor,
                    CreatedAt = now,
                    SentAt = now,
                    ExpiresAt = now + invitation.ValidFor,
                };
                context.Invitations.Add(row);
                rows.Add(row);
                AddAudit(context, revision, now, actor, "InviteMember", invitation.Resource.ToString(), null, Describe(row));
            }

            return ((revision, rows), rows.Count > 0);
        }, cancellationToken);
    }

    /// <summary>The invitations to <paramref name="resource"/>, newest first.</summary>
    public async Task<IReadOnlyList<InvitationRow>> ListInvitationsAsync(ObjectRef resource, CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            var rows = await context.Invitations.AsNoTracking()
                .Where(i => i.ResourceType == resource.Type && i.ResourceId == resource.Id)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            return [.. rows.OrderByDescending(i => i.CreatedAt).ThenBy(i => i.Id, StringComparer.Ordinal)];
        }
    }

    /// <summary>The invitation with <paramref name="id"/>, or null.</summary>
    public async Task<InvitationRow?> FindInvitationAsync(string id, CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Invitations.AsNoTracking().SingleOrDefaultAsync(i => i.Id == id, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The invitation whose token hashes to <paramref name="tokenHash"/>, or null.</summary>
    public async Task<InvitationRow?> FindInvitationByTokenAsync(string tokenHash, CancellationToken cancellationToken = default)
    {
        var context = _createContext();
        await using (context.ConfigureAwait(false))
        {
            return await context.Invitations.AsNoTracking().SingleOrDefaultAsync(i => i.TokenHash == tokenHash, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives a pending invitation a new token (the old one stops working) and a new expiry; NotFound for an unknown id,
    /// FailedPrecondition unless it is pending and unexpired. Audit event <c>ResendInvitation</c>.
    /// </summary>
    public Task<(long Revision, InvitationRow Invitation)> ResendInvitationAsync(
        string id, string tokenHash, TimeSpan validFor, string actor, CancellationToken cancellationToken = default) =>
        WriteAsync<(long, InvitationRow)>("ResendInvitation", actor, async (context, revision, now) =>
        {
            var row = await LoadOpenInvitationAsync(context, id, now, "resent", cancellationToken).ConfigureAwait(false);
            row.TokenHash = tokenHash;
            row.SentAt = now;
            row.ExpiresAt = now + validFor;
            AddAudit(context, revision, now, actor, "ResendInvitation", $"{row.ResourceType}:{row.ResourceId}", null, Describe(row));
            return ((revision, row), true);
        }, cancellationToken);

    /// <summary>
    /// Revokes a pending invitation; NotFound for an unknown id, FailedPrecondition unless it is pending and unexpired.
    /// Audit event <c>RevokeInvitation</c>.
    /// </summary>
    public Task<(long Revision, InvitationRow Invitation)> RevokeInvitationAsync(string id, string actor, CancellationToken cancellationToken = default) =>
        WriteAsync<(long, InvitationRow)>("RevokeInvitation", actor, async (context, revision, now) =>
        {
            var row = await LoadOpenInvitationAsync(context, id, now, "revoked", cancellationToken).ConfigureAwait(false);
            var before = Describe(row);
            row.Status = InvitationRevoked;
            row.RevokedAt = now;
            AddAudit(context, revision, now, actor, "RevokeInvitation", $"{row.ResourceType}:{row.ResourceId}", before, Describe(row));
            return ((revision, row), true);
        }, cancellationToken);

    /// <summary>
    /// Accepts the invitation <paramref name="id"/> (still holding <paramref name="tokenHash"/>) for
    /// <paramref name="invitee"/> in one transaction: the relationship changes, the invitation marked accepted, the
    /// invitee's email recorded, and an audit event <c>AcceptInvitation</c>. NotFound when the token no longer names it;
    /// FailedPrecondition when it is not pending, has expired, or its email belongs to another subject.
    /// </summary>
    public Task<(long Revision, InvitationRow Invitation)> AcceptInvitationAsync(
        string id, string tokenHash, SubjectRef invitee, IReadOnlyList<RelationshipUpdate> updates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(updates);
        var actor = invitee.ToString();
        return WriteAsync<(long, InvitationRow)>("AcceptInvitation", actor, async (context, revision, now) =>
        {
            var row = await context.Invitations.SingleOrDefaultAsync(i => i.Id == id && i.TokenHash == tokenHash, cancellationToken).ConfigureAwait(false)
                ?? throw new AuthzException(AuthzErrorKind.NotFound, "no invitation has this token (a resend replaces the token)");
            RequireOpen(row, now, "accepted");

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

            var (added, _) = await ApplyUpdatesAsync(context, revision, updates, cancellationToken).ConfigureAwait(false);
            var before = Describe(row);
            row.Status = InvitationAccepted;
            row.AcceptedAt = now;
            row.AcceptedBy = actor;
            var after = JsonSerializer.Serialize(new { invitation = row.Id, email = row.Email, added = added.Select(r => r.ToString()).ToArray() });
            AddAudit(context, revision, now, actor, "AcceptInvitation", $"{row.ResourceType}:{row.ResourceId}", before, after);
            return ((revision, row), true);
        }, cancellationToken);
    }

    /// <summary>Throws FailedPrecondition saying why <paramref name="row"/> cannot be <paramref name="what"/> unless it is pending and unexpired.</summary>
    public static void RequireOpen(InvitationRow row, DateTime now, string what)
    {
        ArgumentNullException.ThrowIfNull(row);
        var state = InvitationState(row, now);
        if (state != InvitationPending)
        {
            var when = state switch
            {
                InvitationAccepted => $" (accepted by {row.AcceptedBy})",
                InvitationExpired => $" (expired at {Utc(row.ExpiresAt):O})",
                _ => string.Empty,
            };
            throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"invitation {row.Id} is {state}{when}: only a pending invitation can be {what}");
        }
    }

    private static async Task<InvitationRow> LoadOpenInvitationAsync(AuthzDbContext context, string id, DateTime now, string what, CancellationToken cancellationToken)
    {
        var row = await context.Invitations.SingleOrDefaultAsync(i => i.Id == id, cancellationToken).ConfigureAwait(false)
            ?? throw new AuthzException(AuthzErrorKind.NotFound, $"invitation {id} does not exist");
        RequireOpen(row, now, what);
        return row;
    }

    // What the audit log shows of an invitation: never its token or the token's hash.
    private static string Describe(InvitationRow row) => JsonSerializer.Serialize(new
    {
        id = row.Id,
        email = row.Email,
        roles = InvitationRoles(row),
        grants = InvitationGrants(row).Select(g => new { resource = g.Resource.ToString(), roles = g.Roles }),
        status = row.Status,
        expires_at = Utc(row.ExpiresAt),
    });

    /// <summary>A new context on the store's database (tests use it to reach rows no API changes).</summary>
    internal AuthzDbContext OpenContext() => _createContext();

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
