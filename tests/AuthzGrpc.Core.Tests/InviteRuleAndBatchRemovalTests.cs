using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// The <c>invite by</c> rule (the inviter's own authority, judged when the invitation is made: A003-4) and removing
/// several members in one step (<see cref="ManagementPlanner.RemoveMembers"/>), each allowed and refused.
/// </summary>
public sealed class InviteRuleAndBatchRemovalTests : IDisposable
{
    // 003's shape: project admins add anyone; user managers change existing users' roles ('to member'); only project
    // admins invite ('invite by add_user'). The 'team' type has the same grant rules without an invite rule (001's
    // shape, where a rule with 'to' is judged at acceptance).
    private const string Schema = """
        definition user {}
        definition organization {
            relation owner: user
            relation flag_members: user
            relation member: user
            permission manage_users = owner + flag_members
            manage owner by owner
            manage member by manage_users except self
            minimum 2 owner
            base member
        }
        definition project {
            relation organization: organization
            relation admin: user
            relation viewer: user
            relation member: user
            permission add_user = admin + organization->owner
            permission update_user = add_user + organization->manage_users
            grant admin, viewer by add_user
            grant admin, viewer by update_user to member
            revoke admin, viewer, member by update_user
            invite by add_user
            base member
            parent organization
        }
        definition team {
            relation organization: organization
            relation admin: user
            relation viewer: user
            relation member: user
            permission add_user = admin + organization->owner
            permission update_user = add_user + organization->manage_users
            grant admin, viewer by add_user
            grant admin, viewer by update_user to member
            base member
            parent organization
        }
        """;

    private readonly PermissionEngine _engine = new(CompiledSchema.Compile(Schema));
    private readonly ManagementPlanner _planner;

    public InviteRuleAndBatchRemovalTests()
    {
        _planner = new ManagementPlanner(_engine);
        _engine.Add(Seed.Select(Relationship.Parse));
    }

    private static readonly string[] Seed =
    [
            "organization:acme#owner@user:olivia", "organization:acme#owner@user:otto", "organization:acme#owner@user:oscar", "organization:acme#member@user:oscar", "organization:acme#flag_members@user:mike",
            "organization:acme#member@user:olivia", "organization:acme#member@user:otto", "organization:acme#member@user:mike",
            "organization:acme#member@user:ned", "organization:acme#member@user:vera",
            "project:web#organization@organization:acme", "project:web#admin@user:alice", "project:web#member@user:alice",
            "project:web#viewer@user:vera", "project:web#member@user:vera",
            "team:blue#organization@organization:acme",
    ];

    public void Dispose() => _engine.Dispose();

    private static SubjectRef U(string id) => new("user", id);

    private static readonly ObjectRef Acme = new("organization", "acme");
    private static readonly ObjectRef Web = new("project", "web");
    private static readonly ObjectRef Blue = new("team", "blue");

    private bool Holds(string relationship) => _engine.ReadAll().Contains(Relationship.Parse(relationship));

    [Fact]
    public void InviteRule_IsCompiledOntoItsDefinition_OncePerDefinition()
    {
        Assert.True(_engine.Schema.TryGetType("project", out var project));
        Assert.Equal("add_user", project.Rules.Invite?.Name);
        Assert.True(_engine.Schema.TryGetType("team", out var team));
        Assert.Null(team.Rules.Invite);

        var twice = Assert.Throws<SchemaException>(() => CompiledSchema.Compile("definition user {}\ndefinition p {\n    relation a: user\n    invite by a\n    invite by a\n}"));
        Assert.Contains("already has an invite rule", twice.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InviteRule_RefusesAUserManagerWhenTheInvitationIsMade_WhileTheyStillChangeExistingUsersRoles()
    {
        // mike may change vera's roles (she is a project user: 'to member')...
        _ = _planner.Grant(U("mike"), Web, "admin", U("vera"));

        // ...but inviting is adding a user: refused at once, about the inviter, for the project and for a grant on it.
        var refused = Assert.Throws<AuthzException>(() => _planner.RequireGrantAuthority(U("mike"), Web, ["viewer"]));
        Assert.Equal(AuthzErrorKind.PermissionDenied, refused.Kind);
        Assert.Contains("invite by", refused.Message, StringComparison.Ordinal);
        Assert.Equal(AuthzErrorKind.PermissionDenied, Assert.Throws<AuthzException>(() => _planner.RequireGrantAuthority(
            U("mike"), [new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["member"]), new ObjectRoleChange(Web, RoleChangeKind.Grant, ["viewer"])])).Kind);

        // A project admin, and the organization owner, invite without conditions.
        Assert.Empty(_planner.RequireGrantAuthority(U("alice"), Web, ["viewer"]));
        Assert.Empty(_planner.RequireGrantAuthority(U("olivia"), Web, ["admin"]));
    }

    [Fact]
    public void WithoutAnInviteRule_ARuleWithTo_StillAllowsTheInvitation_JudgingTheAccepterLater()
    {
        // A001-5's reading: the invitee may already be a user by the time it accepts.
        var condition = Assert.Single(_planner.RequireGrantAuthority(U("mike"), Blue, ["viewer"]));
        Assert.Equal("to member", Assert.Single(condition.AnyOf).ToString());
    }

    [Fact]
    public void RemoveMembers_RemovesEveryoneNamed_WithTheCascade_AsOneStep()
    {
        var plan = _planner.RemoveMembers(U("mike"), Acme, [U("vera"), U("ned")]);
        _engine.Write(plan.Updates);

        Assert.Equal(
            ["organization:acme#member@user:ned", "organization:acme#member@user:vera", "project:web#member@user:vera", "project:web#viewer@user:vera"],
            plan.Removed.Select(r => r.ToString()).Order());
        Assert.False(Holds("project:web#viewer@user:vera"));
        Assert.True(Holds("organization:acme#member@user:olivia"));
    }

    [Fact]
    public void RemoveMembers_OneRefusedSubject_RefusesAll_AuthorityBeforeState()
    {
        // mike may remove vera but not himself (except self): nothing is planned, whoever comes first.
        Assert.Equal(AuthzErrorKind.PermissionDenied, Assert.Throws<AuthzException>(() => _planner.RemoveMembers(U("mike"), Acme, [U("vera"), U("mike")])).Kind);
        // Authority before state: a subject holding nothing comes after another subject's refused authority.
        Assert.Equal(AuthzErrorKind.PermissionDenied, Assert.Throws<AuthzException>(() => _planner.RemoveMembers(U("vera"), Acme, [U("nobody"), U("ned")])).Kind);
        Assert.Equal(AuthzErrorKind.NotFound, Assert.Throws<AuthzException>(() => _planner.RemoveMembers(U("mike"), Acme, [U("ned"), U("nobody")])).Kind);
        Assert.Equal(AuthzErrorKind.InvalidArgument, Assert.Throws<AuthzException>(() => _planner.RemoveMembers(U("mike"), Acme, [U("ned"), U("ned")])).Kind);
        Assert.True(Holds("organization:acme#member@user:ned"));
    }

    [Fact]
    public void RemoveMembers_JudgesAMinimumOnAllRemovalsTogether()
    {
        // Of three owners with 'minimum 2 owner', either other owner alone may go; both in one call would leave one.
        _ = _planner.RemoveMembers(U("olivia"), Acme, [U("otto")]);
        _ = _planner.RemoveMembers(U("olivia"), Acme, [U("oscar")]);
        var refused = Assert.Throws<AuthzException>(() => _planner.RemoveMembers(U("olivia"), Acme, [U("otto"), U("oscar")]));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.StartsWith("minimum 2 owner", refused.Message, StringComparison.Ordinal);
    }
}
