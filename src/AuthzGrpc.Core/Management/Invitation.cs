using System.Globalization;
using System.Security.Cryptography;

namespace AuthzGrpc.Core.Management;

/// <summary>Where an invitation stands. Only <see cref="Pending"/> may be resent, revoked or accepted.</summary>
public enum InvitationState
{
    /// <summary>Sent and not answered; its token accepts it until it expires.</summary>
    Pending,

    /// <summary>Accepted: its grants were made.</summary>
    Accepted,

    /// <summary>Revoked by someone with the authority over it; its token no longer works.</summary>
    Revoked,

    /// <summary>Pending past its expiry: never stored, always judged from the expiry at the time of reading.</summary>
    Expired,
}

/// <summary>Roles on one object that an invitation grants on acceptance, besides those on its own resource.</summary>
public sealed record InvitationGrant(ObjectRef Resource, IReadOnlyList<string> Roles);

/// <summary>
/// One address to invite with its roles: on the invitation's resource, and further grants on other objects.
/// <paramref name="Field"/> names where the request gave it (<c>emails</c>, <c>invitees[2]</c>), for refusals. With
/// <paramref name="AccessExpiresAt"/>, every role it gives on acceptance is time-boxed until then.
/// </summary>
public sealed record InvitedAddress(
    string Field, string Email, IReadOnlyList<string> Roles, IReadOnlyList<InvitationGrant> Grants, DateTimeOffset? AccessExpiresAt = null)
{
    /// <summary>Every grant it carries as role changes (<see cref="Invitation.RoleChangesOf"/>).</summary>
    public IReadOnlyList<ObjectRoleChange> RoleChangesOn(ObjectRef resource) => Invitation.RoleChangesOf(resource, Roles, Grants, AccessExpiresAt);
}

/// <summary>
/// An invitation as stored, with its <see cref="State"/> as of when it was read (a pending one past its expiry reads as
/// <see cref="InvitationState.Expired"/>, see <see cref="StateAt"/>). Its grants are judged on the inviter when it is made
/// and on the accepter when it is accepted (<see cref="ManagementPlanner.AcceptInvitation"/>).
/// </summary>
/// <param name="Id">Its id, <c>inv_</c> and hex digits.</param>
/// <param name="Email">The invited address; only a key carrying it as its verified email accepts it (or an admin key vouching).</param>
/// <param name="Resource">Where it is listed, and where <paramref name="Roles"/> are granted.</param>
/// <param name="Roles">The roles granted on <paramref name="Resource"/> on acceptance.</param>
/// <param name="Grants">Further roles on other objects granted on acceptance.</param>
/// <param name="Conditions">What the accepter must meet, where the inviter's rules said <c>to</c> or <c>unless</c>.</param>
public sealed record Invitation(
    string Id, string Email, ObjectRef Resource, IReadOnlyList<string> Roles, IReadOnlyList<InvitationGrant> Grants, IReadOnlyList<AcceptCondition> Conditions)
{
    /// <summary>The SHA-256 of its token (<see cref="InvitationToken.Hash"/>); the token itself is never stored.</summary>
    public required string TokenHash { get; init; }

    /// <summary>Where it stands as of when it was read.</summary>
    public required InvitationState State { get; init; }

    /// <summary>The subject that invited, as <c>type:id</c>.</summary>
    public required string InvitedBy { get; init; }

    /// <summary>When it was made (UTC).</summary>
    public required DateTime CreatedAt { get; init; }

    /// <summary>When a pending invitation stops being acceptable (UTC); a resend moves it.</summary>
    public required DateTime ExpiresAt { get; init; }

    /// <summary>When its token was last issued (UTC).</summary>
    public DateTime? SentAt { get; init; }

    /// <summary>When it was accepted (UTC).</summary>
    public DateTime? AcceptedAt { get; init; }

    /// <summary>When the roles it gives stop counting (a time-boxed invitation), or null for never.</summary>
    public DateTimeOffset? AccessExpiresAt { get; init; }

    /// <summary>The subject that accepted it, as <c>type:id</c>.</summary>
    public string? AcceptedBy { get; init; }

    /// <summary>Every grant it carries as role changes: its roles on its resource first, then those on other objects.</summary>
    public IReadOnlyList<ObjectRoleChange> RoleChanges => RoleChangesOf(Resource, Roles, Grants, AccessExpiresAt);

    /// <summary>The state an invitation stored as <paramref name="stored"/> is in at <paramref name="now"/>: a pending one past its expiry is expired.</summary>
    public static InvitationState StateAt(InvitationState stored, DateTime expiresAt, DateTime now) =>
        stored == InvitationState.Pending && expiresAt <= now ? InvitationState.Expired : stored;

    /// <summary>
    /// An invitation's grants as role changes: its roles on <paramref name="resource"/> first, then
    /// <paramref name="grants"/>; each until <paramref name="expiresAt"/> when given.
    /// </summary>
    public static IReadOnlyList<ObjectRoleChange> RoleChangesOf(
        ObjectRef resource, IReadOnlyList<string> roles, IEnumerable<InvitationGrant> grants, DateTimeOffset? expiresAt = null) =>
    [
        new ObjectRoleChange(resource, RoleChangeKind.Grant, roles, expiresAt),
        .. grants.Select(g => new ObjectRoleChange(g.Resource, RoleChangeKind.Grant, g.Roles, expiresAt)),
    ];

    /// <summary>
    /// Throws FailedPrecondition saying why it cannot be <paramref name="what"/> (resent, revoked, accepted) unless it is
    /// pending: the state rule of every operation on an existing invitation, judged after the caller's authority.
    /// </summary>
    public void RequireOpen(string what)
    {
        if (State != InvitationState.Pending)
        {
            var when = State switch
            {
                InvitationState.Accepted => $" (accepted by {AcceptedBy})",
                InvitationState.Expired => string.Create(CultureInfo.InvariantCulture, $" (expired at {ExpiresAt:O})"),
                _ => string.Empty,
            };
            throw new AuthzException(AuthzErrorKind.FailedPrecondition, $"invitation {Id} is {Name(State)}{when}: only a pending invitation can be {what}");
        }
    }

    /// <summary>The state's name in messages and in the audit log.</summary>
    public static string Name(InvitationState state) => state switch
    {
        InvitationState.Pending => "pending",
        InvitationState.Accepted => "accepted",
        InvitationState.Revoked => "revoked",
        InvitationState.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not an invitation state"),
    };
}

/// <summary>
/// Invitation tokens and ids. The token is what the invitation email carries and is shown to the inviter once; only its
/// hash is stored, so a leaked database accepts nothing.
/// </summary>
public static class InvitationToken
{
    /// <summary>A new token: 32 random bytes, base64url.</summary>
    public static string New() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>A new invitation id: <c>inv_</c> and 24 random hex digits.</summary>
    public static string NewId() => "inv_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>What is stored of <paramref name="token"/>: its SHA-256, lowercase hex.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));
}

/// <summary>
/// Who accepts an invitation: <paramref name="Subject"/>, either the caller itself (<paramref name="Vouched"/> false:
/// proven by the <paramref name="VerifiedEmail"/> its API key carries) or a subject an admin key vouches for (a sign-up flow).
/// </summary>
public sealed record InvitationAccepter(SubjectRef Subject, bool Vouched, string? VerifiedEmail);
