using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Storage;

namespace AuthzGrpc.Server.Writes;

// Invitations are writes like any other: under the write lock, after catching up with what other replicas committed,
// the planner judges them against the engine in force (authority first, then the invitation's state), the store commits
// them with their audit event at a new revision, and the engine and the shared graph move to that revision.
internal sealed partial class ModelWriter
{
    /// <summary>
    /// Invites every one of <paramref name="invitees"/> to <paramref name="resource"/> in one transaction, all or
    /// nothing, as <see cref="ManagementPlanner.Invite"/> judges it; FailedPrecondition (nothing stored) when an address
    /// already has a pending invitation there. Returns each invitation with its token (shown once, never stored).
    /// </summary>
    public Task<(long Revision, IReadOnlyList<(Invitation Invitation, string Token)> Issued)> InviteAsync(
        ObjectRef resource, IReadOnlyList<InvitedAddress> invitees, bool nameInvitees, TimeSpan validFor, SubjectRef caller, CancellationToken cancellationToken) =>
        WriteLockedAsync<IReadOnlyList<(Invitation, string)>>(async engine =>
        {
            var conditions = new ManagementPlanner(engine).Invite(caller, resource, invitees, nameInvitees);
            var tokens = invitees.Select(_ => InvitationToken.New()).ToList();
            List<NewInvitation> invitations =
            [
                .. invitees.Select((invitee, i) => new NewInvitation(
                    InvitationToken.NewId(), invitee.Email, resource, invitee.Roles, InvitationToken.Hash(tokens[i]), validFor, invitee.Grants, conditions[i],
                    invitee.AccessExpiresAt)),
            ];
            var (revision, created) = await store.Invitations.CreateAsync(invitations, caller.ToString(), CancellationToken.None).ConfigureAwait(false);
            return (revision, NoChanges, [.. created.Select((invitation, i) => (invitation, tokens[i]))]);
        }, cancellationToken);

    /// <summary>Gives invitation <paramref name="id"/> a new token and expiry, as <see cref="ManagementPlanner.ResendInvitation"/> allows; returns it with the token.</summary>
    public Task<(long Revision, (Invitation Invitation, string Token) Issued)> ResendInvitationAsync(
        string id, TimeSpan validFor, SubjectRef caller, CancellationToken cancellationToken) =>
        WriteLockedAsync<(Invitation, string)>(async engine =>
        {
            new ManagementPlanner(engine).ResendInvitation(caller, id, await store.Invitations.FindAsync(id, cancellationToken).ConfigureAwait(false));
            var token = InvitationToken.New();
            var (revision, resent) = await store.Invitations.ResendAsync(id, InvitationToken.Hash(token), validFor, caller.ToString(), CancellationToken.None).ConfigureAwait(false);
            return (revision, NoChanges, (resent, token));
        }, cancellationToken);

    /// <summary>Revokes invitation <paramref name="id"/>, as <see cref="ManagementPlanner.RevokeInvitation"/> allows.</summary>
    public Task<(long Revision, Invitation Invitation)> RevokeInvitationAsync(string id, SubjectRef caller, CancellationToken cancellationToken) =>
        WriteLockedAsync<Invitation>(async engine =>
        {
            new ManagementPlanner(engine).RevokeInvitation(caller, id, await store.Invitations.FindAsync(id, cancellationToken).ConfigureAwait(false));
            var (revision, revoked) = await store.Invitations.RevokeAsync(id, caller.ToString(), CancellationToken.None).ConfigureAwait(false);
            return (revision, NoChanges, revoked);
        }, cancellationToken);

    /// <summary>
    /// Accepts the invitation whose token hashes to <paramref name="tokenHash"/> for <paramref name="accepter"/>, as
    /// <see cref="ManagementPlanner.AcceptInvitation"/> judges it, committing its grants with the invitation's acceptance
    /// in one transaction.
    /// </summary>
    public Task<(long Revision, (ManagementPlan Plan, Invitation Invitation) Accepted)> AcceptInvitationAsync(
        string tokenHash, InvitationAccepter accepter, CancellationToken cancellationToken) =>
        WriteLockedAsync<(ManagementPlan, Invitation)>(async engine =>
        {
            var invitation = await store.Invitations.FindByTokenAsync(tokenHash, cancellationToken).ConfigureAwait(false);
            var plan = new ManagementPlanner(engine).AcceptInvitation(invitation, accepter);
            var (revision, accepted) = await store.Invitations.AcceptAsync(invitation.Id, tokenHash, accepter.Subject, plan.Updates, CancellationToken.None).ConfigureAwait(false);
            return (revision, plan.Updates, (plan, accepted));
        }, cancellationToken);
}
