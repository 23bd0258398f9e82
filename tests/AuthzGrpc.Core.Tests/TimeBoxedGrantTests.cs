using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using Microsoft.Extensions.Time.Testing;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// Time-boxed grants through the management rules: the role and the base memberships it implies expire together, by the
/// engine's clock; a relation that does not take expiring grants refuses one as malformed input; member lists show the
/// expiry and drop the grant once it has passed.
/// </summary>
public sealed class TimeBoxedGrantTests : IDisposable
{
    private const string Schema = """
        use expiration
        definition user {}
        definition project {
            relation owner: user | user with expiration
            relation member: user | user with expiration
            permission manage = owner
            base member
            manage member, owner by manage
            minimum 1 owner
        }
        definition environment {
            relation project: project
            relation deployer: user | user with expiration
            relation auditor: user
            permission manage = project->manage
            permission deploy = deployer
            manage deployer, auditor by manage
            parent project
        }
        """;

    private static readonly DateTimeOffset Start = new(2030, 1, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly SubjectRef Olive = SubjectRef.Parse("user:olive");
    private static readonly SubjectRef Bob = SubjectRef.Parse("user:bob");
    private static readonly ObjectRef Prod = ObjectRef.Parse("environment:prod");
    private static readonly ObjectRef Web = ObjectRef.Parse("project:web");

    private readonly FakeTimeProvider _clock = new(Start);
    private readonly PermissionEngine _engine;

    public TimeBoxedGrantTests()
    {
        _engine = new PermissionEngine(CompiledSchema.Compile(Schema)) { Clock = _clock };
        _engine.Add(Relationship.Parse("project:web#owner@user:olive"), Relationship.Parse("environment:prod#project@project:web"));
    }

    public void Dispose() => _engine.Dispose();

    [Fact]
    public void TimeBoxedGrant_AndTheBaseMembershipItImplies_EndTogether()
    {
        var until = Start.AddHours(2);
        var plan = new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, until);
        _engine.Write(plan.Updates);

        Assert.Equal(
            ["environment:prod#deployer@user:bob[expiration:2030-01-01T11:00:00Z]", "project:web#member@user:bob[expiration:2030-01-01T11:00:00Z]"],
            plan.Updates.Select(u => u.Relationship.ToString()).Order(StringComparer.Ordinal));
        Assert.True(_engine.Check(Prod, "deploy", Bob));
        var deployer = Assert.Single(new MembershipQueries(_engine).ListMembers(Prod), m => m.Subject == Bob).Roles.Single(r => r.Relation == "deployer");
        Assert.Equal(until, deployer.ExpiresAt);

        _clock.Advance(TimeSpan.FromHours(2));
        Assert.False(_engine.Check(Prod, "deploy", Bob));
        Assert.False(_engine.Check(Web, "member", Bob));
        Assert.DoesNotContain(new MembershipQueries(_engine).ListMembers(Prod), m => m.Subject == Bob);
        Assert.DoesNotContain(new MembershipQueries(_engine).ListMembers(Web), m => m.Subject == Bob);
    }

    [Fact]
    public void TimeBoxedGrant_OverAPermanentBaseMembership_DoesNotShortenIt()
    {
        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Web, "member", Bob).Updates);

        var plan = new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, Start.AddHours(1));
        _engine.Write(plan.Updates);

        // The base membership held already is not shortened.
        Assert.Equal(["environment:prod#deployer@user:bob[expiration:2030-01-01T10:00:00Z]"], plan.Updates.Select(u => u.Relationship.ToString()));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.True(_engine.Check(Web, "member", Bob));
        Assert.False(_engine.Check(Prod, "deploy", Bob));
    }

    [Fact]
    public void LastPermanentOwner_CannotBeRevoked_WhileOnlyATimeBoxedOwnerWouldRemain()
    {
        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Web, "owner", Bob, Start.AddDays(1)).Updates);

        var refused = Assert.Throws<AuthzException>(() => new ManagementPlanner(_engine).Revoke(Bob, Web, "owner", Olive));

        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.Contains("would keep 0 without an expiry (1 more expire)", refused.Message, StringComparison.Ordinal);
        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Web, "owner", SubjectRef.Parse("user:cy")).Updates);
        Assert.NotEmpty(new ManagementPlanner(_engine).Revoke(Bob, Web, "owner", Olive).Updates);
    }

    [Fact]
    public void TimeBoxedGrant_OfARoleThatTakesNoExpiry_IsInvalid_AndChangesNothing()
    {
        var revision = _engine.Revision;

        var refused = Assert.Throws<AuthzException>(() => new ManagementPlanner(_engine).Grant(Olive, Prod, "auditor", Bob, Start.AddHours(1)));

        Assert.Equal(AuthzErrorKind.InvalidArgument, refused.Kind);
        Assert.Contains("does not allow subjects of type 'user with expiration'", refused.Message, StringComparison.Ordinal);
        Assert.Equal(revision, _engine.Revision);
    }

    [Fact]
    public void Regrant_WithALaterExpiry_ExtendsTheRoleAndTheBaseMembershipItImplies()
    {
        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, Start.AddHours(1)).Updates);

        var plan = new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, Start.AddHours(3));
        _engine.Write(plan.Updates);

        Assert.Equal(
            ["environment:prod#deployer@user:bob[expiration:2030-01-01T12:00:00Z]", "project:web#member@user:bob[expiration:2030-01-01T12:00:00Z]"],
            plan.Updates.Select(u => u.Relationship.ToString()).Order(StringComparer.Ordinal));
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.True(_engine.Check(Prod, "deploy", Bob));
        Assert.True(_engine.Check(Web, "member", Bob));
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.False(_engine.Check(Prod, "deploy", Bob));
    }

    [Fact]
    public void PermanentRegrant_OfATimeBoxedRole_MakesItAndItsBaseMembershipPermanent()
    {
        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, Start.AddHours(1)).Updates);

        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob).Updates);

        _clock.Advance(TimeSpan.FromDays(30));
        Assert.True(_engine.Check(Prod, "deploy", Bob));
        Assert.True(_engine.Check(Web, "member", Bob));
    }

    [Fact]
    public void Regrant_WithAnEarlierExpiry_ShortensNothing()
    {
        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, Start.AddHours(3)).Updates);

        Assert.Empty(new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, Start.AddHours(1)).Updates);
        Assert.Empty(new ManagementPlanner(_engine).Grant(Olive, Web, "owner", Olive, Start.AddHours(1)).Updates);
    }

    [Fact]
    public void SetRoles_WithAnExpiry_TimeBoxesWhatItAdds_AndExtendsWhatItKeeps()
    {
        _engine.Write(new ManagementPlanner(_engine).Grant(Olive, Prod, "deployer", Bob, Start.AddHours(1)).Updates);

        var plan = new ManagementPlanner(_engine).SetRoles(Olive, Web, Bob, ["member", "owner"], Start.AddHours(4));
        _engine.Write(plan.Updates);

        Assert.Equal(
            ["project:web#member@user:bob[expiration:2030-01-01T13:00:00Z]", "project:web#owner@user:bob[expiration:2030-01-01T13:00:00Z]"],
            plan.Updates.Select(u => u.Relationship.ToString()).Order(StringComparer.Ordinal));
        _clock.Advance(TimeSpan.FromHours(2));
        Assert.False(_engine.Check(Prod, "deploy", Bob));
        Assert.True(_engine.Check(Web, "manage", Bob));
    }

    [Fact]
    public void TimeBoxedInvitation_GivesRolesThatEndTogether_AndRefusesARoleThatTakesNoExpiry()
    {
        var until = Start.AddHours(6);
        var bob = new InvitedAddress("emails", "bob@example.com", ["deployer"], [], until);
        var conditions = new ManagementPlanner(_engine).Invite(Olive, Prod, [bob], nameInvitees: false);

        var accepted = new ManagementPlanner(_engine).Accept(bob.RoleChangesOn(Prod), conditions[0], Bob);
        _engine.Write(accepted.Updates);

        Assert.Equal(
            ["environment:prod#deployer@user:bob[expiration:2030-01-01T15:00:00Z]", "project:web#member@user:bob[expiration:2030-01-01T15:00:00Z]"],
            accepted.Updates.Select(u => u.Relationship.ToString()).Order(StringComparer.Ordinal));
        _clock.Advance(TimeSpan.FromHours(6));
        Assert.False(_engine.Check(Prod, "deploy", Bob));

        // Accepted once the access it gives has passed: refused, not committed as roles already expired.
        var late = new Invitation("inv_1", "dee@example.com", Prod, ["deployer"], [], [])
        {
            TokenHash = "x", State = InvitationState.Pending, InvitedBy = "user:olive", CreatedAt = Start.UtcDateTime, ExpiresAt = Start.AddDays(7).UtcDateTime,
            AccessExpiresAt = until,
        };
        var passed = Assert.Throws<AuthzException>(() => new ManagementPlanner(_engine).AcceptInvitation(late, new InvitationAccepter(SubjectRef.Parse("user:dee"), Vouched: false, VerifiedEmail: "dee@example.com")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, passed.Kind);
        Assert.Contains("which has passed", passed.Message, StringComparison.Ordinal);

        var auditor = new InvitedAddress("emails", "cy@example.com", ["auditor"], [], until);
        var refused = Assert.Throws<AuthzException>(() => new ManagementPlanner(_engine).Invite(Olive, Prod, [auditor], nameInvitees: false));
        Assert.Equal(AuthzErrorKind.InvalidArgument, refused.Kind);
        Assert.Contains("'environment#auditor' takes no time-boxed grant", refused.Message, StringComparison.Ordinal);
    }
}
