using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// <see cref="Invitation"/>'s states and the planner's judgement of each operation on an invitation: authority first,
/// then state (R24), in the Core rather than in the gRPC service or the store.
/// </summary>
public sealed class InvitationTests : IDisposable
{
    private const string Schema = """
        definition user {}
        definition organization {
            relation owner: user
            relation admin: user
            relation member: user
            manage owner by owner
            manage admin, member by owner
            base member
        }
        """;

    private static readonly ObjectRef Acme = new("organization", "acme");
    private static readonly DateTime Now = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private readonly PermissionEngine _engine = new(CompiledSchema.Compile(Schema));
    private readonly ManagementPlanner _planner;

    public InvitationTests()
    {
        _planner = new ManagementPlanner(_engine);
        _engine.Add(Relationship.Parse("organization:acme#owner@user:olivia"), Relationship.Parse("organization:acme#member@user:olivia"));
    }

    public void Dispose() => _engine.Dispose();

    private static SubjectRef U(string id) => new("user", id);

    private static Invitation Pending(string role = "admin", string email = "zoe@example.com") =>
        new("inv_1", email, Acme, [role], [], [])
        {
            TokenHash = InvitationToken.Hash("token"), State = InvitationState.Pending, InvitedBy = "user:olivia", CreatedAt = Now, ExpiresAt = Now.AddDays(7),
        };

    [Theory]
    [InlineData(InvitationState.Pending, -1, InvitationState.Pending)]
    [InlineData(InvitationState.Pending, 0, InvitationState.Expired)]
    [InlineData(InvitationState.Pending, 1, InvitationState.Expired)]
    [InlineData(InvitationState.Accepted, 1, InvitationState.Accepted)]
    [InlineData(InvitationState.Revoked, 1, InvitationState.Revoked)]
    public void StateAt_APendingInvitationExpiresAtItsExpiry_OthersKeepTheirState(InvitationState stored, int secondsPastExpiry, InvitationState expected) =>
        Assert.Equal(expected, Invitation.StateAt(stored, Now, Now.AddSeconds(secondsPastExpiry)));

    [Fact]
    public void RequireOpen_OnlyAPendingInvitationChanges_TheRefusalSaysWhy()
    {
        Pending().RequireOpen("revoked");

        var accepted = Assert.Throws<AuthzException>(() => (Pending() with { State = InvitationState.Accepted, AcceptedBy = "user:zoe" }).RequireOpen("resent"));
        Assert.Equal((AuthzErrorKind.FailedPrecondition, "invitation inv_1 is accepted (accepted by user:zoe): only a pending invitation can be resent"), (accepted.Kind, accepted.Message));
        var expired = Assert.Throws<AuthzException>(() => (Pending() with { State = InvitationState.Expired }).RequireOpen("accepted"));
        Assert.Equal("invitation inv_1 is expired (expired at 2026-01-09T03:04:05.0000000Z): only a pending invitation can be accepted", expired.Message);
        Assert.Equal("invitation inv_1 is revoked: only a pending invitation can be revoked",
            Assert.Throws<AuthzException>(() => (Pending() with { State = InvitationState.Revoked }).RequireOpen("revoked")).Message);
    }

    [Fact]
    public void RoleChanges_AreTheRolesOnItsResourceFirst_ThenItsFurtherGrants()
    {
        var further = new ObjectRef("organization", "globex");
        var invitation = Pending() with { Grants = [new InvitationGrant(further, ["member"])] };
        Assert.Equal([(Acme, "admin"), (further, "member")], invitation.RoleChanges.SelectMany(c => c.Roles.Select(r => (c.Resource, r))));
    }

    [Fact]
    public void Tokens_AreRandom_AndOnlyTheirHashIsStored()
    {
        var (one, two) = (InvitationToken.New(), InvitationToken.New());
        Assert.NotEqual(one, two);
        Assert.Equal(43, one.Length);
        Assert.Equal(64, InvitationToken.Hash(one).Length);
        Assert.Equal(InvitationToken.Hash(one), InvitationToken.Hash(one));
        Assert.StartsWith("inv_", InvitationToken.NewId(), StringComparison.Ordinal);
    }

    [Fact]
    public void ResendAndRevoke_JudgeAuthorityBeforeState()
    {
        // A caller without authority is refused the same way whether the invitation is pending, closed or missing.
        var closed = Pending() with { State = InvitationState.Revoked };
        foreach (var invitation in new[] { Pending(), closed, null })
        {
            Assert.Equal(AuthzErrorKind.PermissionDenied, Assert.Throws<AuthzException>(() => _planner.RevokeInvitation(U("mallory"), "inv_1", invitation)).Kind);
            Assert.Equal(AuthzErrorKind.PermissionDenied, Assert.Throws<AuthzException>(() => _planner.ResendInvitation(U("mallory"), "inv_1", invitation)).Kind);
        }

        // With it: a missing one is NotFound, a closed one FailedPrecondition, a pending one allowed.
        Assert.Equal(AuthzErrorKind.NotFound, Assert.Throws<AuthzException>(() => _planner.RevokeInvitation(U("olivia"), "inv_1", null)).Kind);
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Assert.Throws<AuthzException>(() => _planner.ResendInvitation(U("olivia"), "inv_1", closed)).Kind);
        Assert.Same(Pending().Id, _planner.RevokeInvitation(U("olivia"), "inv_1", Pending()).Id);
    }

    [Fact]
    public void AcceptInvitation_JudgesTheToken_ThenTheInvitee_ThenTheState_ThenGrants()
    {
        var zoe = new InvitationAccepter(U("zoe"), Vouched: false, "zoe@example.com");
        Assert.Equal(AuthzErrorKind.NotFound, Assert.Throws<AuthzException>(() => _planner.AcceptInvitation(null, zoe)).Kind);

        // Another address is refused before the state is told.
        var closed = Pending() with { State = InvitationState.Accepted, AcceptedBy = "user:zoe" };
        var stranger = new InvitationAccepter(U("yan"), Vouched: false, VerifiedEmail: null);
        Assert.Equal(AuthzErrorKind.PermissionDenied, Assert.Throws<AuthzException>(() => _planner.AcceptInvitation(closed, stranger)).Kind);
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Assert.Throws<AuthzException>(() => _planner.AcceptInvitation(closed, zoe)).Kind);

        // The address is matched without case; an admin key may vouch for the invitee instead.
        var plan = _planner.AcceptInvitation(Pending(), zoe with { VerifiedEmail = "Zoe@Example.com" });
        Assert.Contains(Relationship.Parse("organization:acme#admin@user:zoe"), plan.Updates.Select(u => u.Relationship));
        Assert.NotEmpty(_planner.AcceptInvitation(Pending(), new InvitationAccepter(U("zed"), Vouched: true, VerifiedEmail: null)).Updates);
    }

    [Fact]
    public void Invite_NamesTheInviteeARefusalIsAbout_OnlyWhenEachHasItsOwnRoles()
    {
        List<InvitedAddress> invitees = [new("invitees[0]", "a@example.com", ["member"], []), new("invitees[1]", "b@example.com", ["owner"], [])];
        Assert.Equal(2, _planner.Invite(U("olivia"), Acme, invitees, nameInvitees: true).Count);

        var named = Assert.Throws<AuthzException>(() => _planner.Invite(U("mallory"), Acme, invitees, nameInvitees: true));
        Assert.StartsWith("invitees[0] (a@example.com): ", named.Message, StringComparison.Ordinal);
        Assert.EndsWith("; no invitation of the call was created", named.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("a@example.com", Assert.Throws<AuthzException>(() => _planner.Invite(U("mallory"), Acme, invitees, nameInvitees: false)).Message, StringComparison.Ordinal);

        // An unknown role is malformed input for every caller, before authority.
        List<InvitedAddress> unknown = [new("invitees[0]", "a@example.com", ["member"], []), new("invitees[1]", "b@example.com", ["boss"], [])];
        Assert.Equal(AuthzErrorKind.InvalidArgument, Assert.Throws<AuthzException>(() => _planner.Invite(U("mallory"), Acme, unknown, nameInvitees: true)).Kind);
    }

    [Fact]
    public void MayListInvitations_AndMaySee_FollowTheGrantRules()
    {
        Assert.True(_planner.MayListInvitations(U("olivia"), Acme));
        Assert.False(_planner.MayListInvitations(U("mallory"), Acme));
        Assert.True(_planner.MaySee(U("olivia"), Pending()));
        Assert.False(_planner.MaySee(U("mallory"), Pending()));
    }
}
