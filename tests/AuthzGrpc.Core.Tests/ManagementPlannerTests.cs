using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>The management rules, each with the allowed case and the refused case and its error kind.</summary>
public sealed class ManagementPlannerTests : IDisposable
{
    private const string Schema = """
        definition user {}
        definition organization {
            relation owner: user
            relation admin: user
            relation viewer: user
            relation member: user
            relation flag_billing: user
            relation flag_members: user
            permission manage_owners = owner
            permission manage_users = owner + admin + flag_members
            permission can_leave = owner + admin

            manage owner by manage_owners
            manage admin, viewer by manage_users
            manage flag_billing, flag_members by manage_users holding except self
            revoke member by manage_users except self
            minimum 1 owner
            base member
            leave by can_leave
            transfer owner by owner
        }
        definition project {
            relation organization: organization
            relation admin: user
            relation viewer: user
            relation creator: user
            permission manage_members = admin + organization->owner
            permission create_here = organization->manage_users
            manage admin, viewer by manage_members
            exclusive admin, viewer
            parent organization
            create by organization->manage_users
            delete by manage_members
        }
        definition environment {
            relation project: project
            relation production_of: project
            relation type: project
            permission manage = project->manage_members
            grant production_of, type by manage
            unique production_of
            immutable type when production_of
            parent project
        }
        """;

    private readonly PermissionEngine _engine = new(CompiledSchema.Compile(Schema));
    private readonly ManagementPlanner _planner;

    public ManagementPlannerTests()
    {
        _planner = new ManagementPlanner(_engine);
        _engine.Add(Seed.Select(Relationship.Parse));
    }

    private static readonly string[] Seed =
    [
            "organization:acme#owner@user:olivia",
            "organization:acme#admin@user:adam",
            "organization:acme#viewer@user:vera",
            "organization:acme#flag_members@user:mia",
            "organization:acme#flag_billing@user:bill",
            "organization:acme#member@user:olivia",
            "organization:acme#member@user:adam",
            "organization:acme#member@user:vera",
            "organization:acme#member@user:mia",
            "organization:acme#member@user:bill",
            "project:web#organization@organization:acme",
            "project:web#admin@user:priya",
            "project:web#viewer@user:vera",
            "project:web#creator@user:vera",
            "environment:prod#project@project:web",
            "environment:prod#production_of@project:web",
            "environment:prod#type@project:web",
            "environment:stage#project@project:web",
    ];

    public void Dispose() => _engine.Dispose();

    private static SubjectRef U(string id) => new("user", id);

    private static readonly ObjectRef Acme = new("organization", "acme");
    private static readonly ObjectRef Web = new("project", "web");

    private void Apply(ManagementPlan plan) => _engine.Write(plan.Updates);

    private static AuthzErrorKind Refused(Action action) => Assert.Throws<AuthzException>(action).Kind;

    private bool Holds(string relationship) => _engine.ReadAll().Contains(Relationship.Parse(relationship));

    [Fact]
    public void Grant_WithAuthority_AddsTheRole_AndTheBaseMembership()
    {
        Apply(_planner.Grant(U("adam"), Acme, "viewer", U("newbie")));

        Assert.True(Holds("organization:acme#viewer@user:newbie"));
        Assert.True(Holds("organization:acme#member@user:newbie"));
    }

    [Fact]
    public void GrantOnAProject_MakesTheUserAnOrganizationMember()
    {
        Apply(_planner.Grant(U("priya"), Web, "viewer", U("carl")));

        Assert.True(Holds("project:web#viewer@user:carl"));
        Assert.True(Holds("organization:acme#member@user:carl"));
    }

    [Fact]
    public void Grant_WithoutAuthority_IsPermissionDenied()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Grant(U("vera"), Acme, "viewer", U("newbie"))));
        Assert.False(Holds("organization:acme#viewer@user:newbie"));
    }

    [Fact]
    public void GrantOrSetOfARoleAlreadyHeld_NeedsTheAuthorityStill()
    {
        // Nothing would change, yet a caller without the authority is refused: authority comes first (R24), and the
        // answer does not tell them what the subject holds.
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Grant(U("vera"), Acme, "owner", U("olivia"))));
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.SetRoles(U("adam"), Acme, U("olivia"), ["owner"])));

        Assert.DoesNotContain(_planner.Grant(U("olivia"), Acme, "owner", U("olivia")).Updates, u => u.Relationship.Relation == "owner");
    }

    [Fact]
    public void AdminGrantingOwner_IsPermissionDenied_OwnerGrantingOwner_IsAllowed()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Grant(U("adam"), Acme, "owner", U("vera"))));

        Apply(_planner.Grant(U("olivia"), Acme, "owner", U("adam")));

        Assert.True(Holds("organization:acme#owner@user:adam"));
    }

    [Fact]
    public void GrantingAFlagOneLacks_IsPermissionDenied_OneHolds_IsAllowed()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Grant(U("mia"), Acme, "flag_billing", U("vera"))));

        Apply(_planner.Grant(U("mia"), Acme, "flag_members", U("vera")));

        Assert.True(Holds("organization:acme#flag_members@user:vera"));
    }

    [Fact]
    public void EditingOwnFlags_IsPermissionDenied()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Revoke(U("mia"), Acme, "flag_members", U("mia"))));
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.RemoveMember(U("mia"), Acme, U("mia"))));
    }

    [Fact]
    public void RelationWithoutAGrantRule_CannotBeGranted()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Grant(U("olivia"), Web, "creator", U("adam"))));
    }

    [Fact]
    public void RevokingTheLastOwner_IsFailedPrecondition_ASecondOwnerMayBeRevoked()
    {
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Revoke(U("olivia"), Acme, "owner", U("olivia"))));

        Apply(_planner.Grant(U("olivia"), Acme, "owner", U("adam")));
        Apply(_planner.Revoke(U("adam"), Acme, "owner", U("olivia")));

        Assert.False(Holds("organization:acme#owner@user:olivia"));
    }

    [Fact]
    public void AuthorityIsCheckedBeforeState()
    {
        // Vera may not touch owners at all: that she would also remove the last owner is not her business to learn.
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Revoke(U("vera"), Acme, "owner", U("olivia"))));
    }

    [Fact]
    public void DowngradingTheLastOwner_IsFailedPrecondition()
    {
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.SetRoles(U("olivia"), Acme, U("olivia"), ["admin"])));
        Assert.True(Holds("organization:acme#owner@user:olivia"));
    }

    [Fact]
    public void SetRoles_ChangesTheRoleInOneStep()
    {
        var plan = _planner.SetRoles(U("olivia"), Acme, U("vera"), ["admin"]);
        Apply(plan);

        Assert.True(Holds("organization:acme#admin@user:vera"));
        Assert.False(Holds("organization:acme#viewer@user:vera"));
        Assert.Equal(["organization:acme#viewer@user:vera"], plan.Removed.Select(r => r.ToString()));
    }

    [Fact]
    public void RevokingTheBaseMembership_IsFailedPrecondition()
    {
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Revoke(U("olivia"), Acme, "member", U("vera"))));
    }

    [Fact]
    public void RevokingWhatIsNotHeld_IsNotFound()
    {
        Assert.Equal(AuthzErrorKind.NotFound, Refused(() => _planner.Revoke(U("olivia"), Acme, "admin", U("vera"))));
    }

    [Fact]
    public void RemoveMember_CascadesToEveryGrantBelow_AndListsThem()
    {
        var plan = _planner.RemoveMember(U("adam"), Acme, U("vera"));
        Apply(plan);

        Assert.Equal(
            ["organization:acme#member@user:vera", "organization:acme#viewer@user:vera", "project:web#viewer@user:vera"],
            plan.Removed.Select(r => r.ToString()).Order());

        // Attributes are not roles: who created the project stays recorded.
        Assert.Equal(["project:web#creator@user:vera"], _engine.ReadAll().Where(r => r.Subject == U("vera")).Select(r => r.ToString()));
    }

    [Fact]
    public void RemoveFromProject_KeepsTheOrganizationMembership()
    {
        Apply(_planner.RemoveMember(U("priya"), Web, U("vera")));

        Assert.False(Holds("project:web#viewer@user:vera"));
        Assert.True(Holds("organization:acme#member@user:vera"));
    }

    [Fact]
    public void RemovingAnOwner_NeedsTheRightToRevokeOwner()
    {
        Apply(_planner.Grant(U("olivia"), Acme, "owner", U("vera")));

        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.RemoveMember(U("adam"), Acme, U("vera"))));
        Apply(_planner.RemoveMember(U("olivia"), Acme, U("vera")));
        Assert.False(Holds("organization:acme#owner@user:vera"));
    }

    [Fact]
    public void Leave_ByAnAdmin_RemovesEverything_ByAViewer_IsPermissionDenied_ByTheLastOwner_IsFailedPrecondition()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Leave(U("vera"), Acme)));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Leave(U("olivia"), Acme)));

        Apply(_planner.Leave(U("adam"), Acme));

        Assert.DoesNotContain(_engine.ReadAll(), r => r.Subject == U("adam"));
    }

    [Fact]
    public void Transfer_MovesTheRole_AndTheFormerHolderKeepsNone()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Transfer(U("adam"), Acme, "owner", U("vera"))));

        Apply(_planner.Transfer(U("olivia"), Acme, "owner", U("adam")));

        Assert.True(Holds("organization:acme#owner@user:adam"));
        Assert.False(Holds("organization:acme#owner@user:olivia"));
    }

    [Fact]
    public void Transfer_HonoursTheRecipientsStateRules_AsAGrantWould()
    {
        using var engine = new PermissionEngine(CompiledSchema.Compile("""
            definition user {}
            definition team {
                relation owner: user
                relation admin: user
                exclusive owner, admin
                transfer owner by owner
            }
            """));
        engine.Add(Relationship.Parse("team:a#owner@user:olivia"), Relationship.Parse("team:a#admin@user:adam"));
        var planner = new ManagementPlanner(engine);
        var team = new ObjectRef("team", "a");

        // adam would hold owner and admin, which `exclusive` forbids; vera holds nothing there.
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => planner.Transfer(U("olivia"), team, "owner", U("adam"))));
        engine.Write(planner.Transfer(U("olivia"), team, "owner", U("vera")).Updates);
        Assert.Contains(Relationship.Parse("team:a#owner@user:vera"), engine.ReadAll());
    }

    [Fact]
    public void Create_HonoursExclusiveRolesLinkingTheNewObjects()
    {
        using var engine = new PermissionEngine(CompiledSchema.Compile("""
            definition user {}
            definition org {
                relation owner: user
            }
            definition board {
                relation org: org
                relation lead: column
                relation tail: column
                permission edit = org->owner
                grant lead, tail by edit
                exclusive lead, tail
                create by org->owner
                parent org
            }
            definition column {
                relation board: board
                parent board
            }
            """));
        engine.Add(Relationship.Parse("org:o#owner@user:olivia"));
        var planner = new ManagementPlanner(engine);
        var (board, column) = (new ObjectRef("board", "b"), new SubjectRef("column", "c"));
        var child = new ContainedObject(new ObjectRef("column", "c"), []);

        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => planner.Create(U("olivia"), board, new ObjectRef("org", "o"), [("lead", column), ("tail", column)], [child])));
        engine.Write(planner.Create(U("olivia"), board, new ObjectRef("org", "o"), [("lead", column)], [child]).Updates);
        Assert.Contains(Relationship.Parse("board:b#lead@column:c"), engine.ReadAll());
    }

    [Fact]
    public void SecondProductionEnvironment_IsFailedPrecondition()
    {
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Grant(U("priya"), new ObjectRef("environment", "stage"), "production_of", new SubjectRef("project", "web"))));
    }

    [Fact]
    public void ProductionTypeIsImmutable_APreviewTypeIsNot()
    {
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Grant(U("priya"), new ObjectRef("environment", "prod"), "type", new SubjectRef("project", "other"))));

        Apply(_planner.Grant(U("priya"), new ObjectRef("environment", "stage"), "type", new SubjectRef("project", "web")));

        Assert.True(Holds("environment:stage#type@project:web"));
    }

    [Fact]
    public void Invitation_NeedsGrantAuthorityWhenMade_AndAcceptGrantsWithBaseMembership()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.RequireGrantAuthority(U("adam"), Acme, ["owner"])));
        _planner.RequireGrantAuthority(U("adam"), Acme, ["admin", "viewer"]);

        Apply(_planner.Accept([new ObjectRoleChange(Web, RoleChangeKind.Grant, ["viewer"])], [], U("ivan")));

        Assert.True(Holds("project:web#viewer@user:ivan"));
        Assert.True(Holds("organization:acme#member@user:ivan"));
    }

    [Fact]
    public void ExclusiveRoles_ASecondRoleIsFailedPrecondition_ChangingTheRoleIsNot()
    {
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Grant(U("priya"), Web, "admin", U("vera"))));

        Apply(_planner.SetRoles(U("priya"), Web, U("vera"), ["admin"]));

        Assert.True(Holds("project:web#admin@user:vera"));
        Assert.False(Holds("project:web#viewer@user:vera"));
    }

    [Fact]
    public void ChangeRoles_OnSeveralObjects_AppliesEachItemAsItsSingleCallWould()
    {
        var plan = _planner.ChangeRoles(U("olivia"), U("vera"),
        [
            new ObjectRoleChange(Acme, RoleChangeKind.Set, ["admin"]),
            new ObjectRoleChange(Web, RoleChangeKind.Revoke, ["viewer"]),
            new ObjectRoleChange(new ObjectRef("environment", "stage"), RoleChangeKind.Grant, []),
        ]);
        Apply(plan);

        Assert.True(Holds("organization:acme#admin@user:vera"));
        Assert.False(Holds("organization:acme#viewer@user:vera"));
        Assert.False(Holds("project:web#viewer@user:vera"));
        Assert.True(Holds("organization:acme#member@user:vera"));
        Assert.Equal(["organization:acme#viewer@user:vera", "project:web#viewer@user:vera"], plan.Removed.Select(r => r.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ChangeRoles_TwoItemsImplyingOneBaseMembership_TouchItOnce()
    {
        var plan = _planner.ChangeRoles(U("olivia"), U("newbie"),
        [
            new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["viewer"]),
            new ObjectRoleChange(Web, RoleChangeKind.Grant, ["admin"]),
        ]);

        Assert.Equal(3, plan.Updates.Count);
        Assert.Single(plan.Updates, u => u.Relationship == Relationship.Parse("organization:acme#member@user:newbie"));
        Apply(plan);
        Assert.True(Holds("organization:acme#viewer@user:newbie"));
        Assert.True(Holds("project:web#admin@user:newbie"));
    }

    [Fact]
    public void ChangeRoles_OneRefusedItem_RefusesAll_AuthorityBeforeState()
    {
        // Priya may make vera a web admin but for the exclusive rule (state), and may not touch acme's admins at all
        // (authority): the authority refusal wins, whatever the order of the items.
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.ChangeRoles(U("priya"), U("vera"),
        [
            new ObjectRoleChange(Web, RoleChangeKind.Grant, ["admin"]),
            new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["admin"]),
        ])));

        // Olivia has both authorities: the state refusal of the second item refuses the first one too.
        var refused = Assert.Throws<AuthzException>(() => _planner.ChangeRoles(U("olivia"), U("vera"),
        [
            new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["admin"]),
            new ObjectRoleChange(Web, RoleChangeKind.Grant, ["admin"]),
        ]));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.StartsWith("exclusive admin, viewer", refused.Message, StringComparison.Ordinal);
        Assert.Equal(AuthzErrorKind.NotFound, Refused(() => _planner.ChangeRoles(U("olivia"), U("vera"),
        [
            new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["admin"]),
            new ObjectRoleChange(Web, RoleChangeKind.Revoke, ["admin"]),
        ])));
        Assert.False(Holds("organization:acme#admin@user:vera"));
    }

    [Fact]
    public void ChangeRoles_TheSameObjectTwice_IsInvalidArgument_NamingTheItem()
    {
        var refused = Assert.Throws<AuthzException>(() => _planner.ChangeRoles(U("olivia"), U("newbie"),
        [
            new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["viewer"]),
            new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["admin"]),
        ]));

        Assert.Equal(AuthzErrorKind.InvalidArgument, refused.Kind);
        Assert.StartsWith("changes[1].resource: organization:acme is already the object of changes[0]", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangeRoles_AUniqueRelationOnTwoObjects_IsFailedPrecondition()
    {
        string[] environments = ["environment:e1#project@project:web", "environment:e2#project@project:web", "project:api#organization@organization:acme"];
        _engine.Add(environments.Select(Relationship.Parse));
        var api = new SubjectRef("project", "api");

        // Each item alone is allowed; together they would make api the production project of two environments.
        Assert.NotEmpty(_planner.ChangeRoles(U("olivia"), api, [new ObjectRoleChange(new ObjectRef("environment", "e1"), RoleChangeKind.Grant, ["production_of"])]).Updates);
        Assert.NotEmpty(_planner.ChangeRoles(U("olivia"), api, [new ObjectRoleChange(new ObjectRef("environment", "e2"), RoleChangeKind.Grant, ["production_of"])]).Updates);
        var refused = Assert.Throws<AuthzException>(() => _planner.ChangeRoles(U("olivia"), api,
        [
            new ObjectRoleChange(new ObjectRef("environment", "e1"), RoleChangeKind.Grant, ["production_of"]),
            new ObjectRoleChange(new ObjectRef("environment", "e2"), RoleChangeKind.Grant, ["production_of"]),
        ]));

        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.StartsWith("unique production_of: project:api would be production_of of environment:e1 and environment:e2", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Accept_HonoursExclusiveRoles_AsAGrantWould()
    {
        // Vera is a viewer of web; an invitation accepted as admin would give her two exclusive roles.
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Accept([new ObjectRoleChange(Web, RoleChangeKind.Grant, ["admin"])], [], U("vera"))));

        Apply(_planner.Accept([new ObjectRoleChange(Web, RoleChangeKind.Grant, ["viewer"])], [], U("vera")));
        Assert.True(Holds("project:web#viewer@user:vera"));
        Assert.False(Holds("project:web#admin@user:vera"));
    }

    [Fact]
    public void Create_UnderAParentWhereTheCallerMayCreate_WritesTheParentAndAttributes()
    {
        var mobile = new ObjectRef("project", "mobile");

        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Create(U("vera"), mobile, Acme, [])));
        Apply(_planner.Create(U("adam"), mobile, Acme, [("creator", U("adam"))]));

        Assert.True(Holds("project:mobile#organization@organization:acme"));
        Assert.True(Holds("project:mobile#creator@user:adam"));
        Assert.Equal(AuthzErrorKind.AlreadyExists, Refused(() => _planner.Create(U("adam"), mobile, Acme, [])));
    }

    [Fact]
    public void Create_AttributesAreNeitherRolesNorAnotherCreator()
    {
        var mobile = new ObjectRef("project", "mobile");

        // A role is granted after creation, under its grant rule; the creator recorded is the caller.
        var role = Assert.Throws<AuthzException>(() => _planner.Create(U("adam"), mobile, Acme, [("admin", U("adam"))]));
        Assert.Equal(AuthzErrorKind.PermissionDenied, role.Kind);
        Assert.Contains("is a role", role.Message, StringComparison.Ordinal);
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Create(U("adam"), mobile, Acme, [("creator", U("vera"))])));
        Assert.False(Holds("project:mobile#organization@organization:acme"));
    }

    [Fact]
    public void Delete_RemovesTheObjectAndEverythingItContains()
    {
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Delete(U("vera"), Web)));

        var plan = _planner.Delete(U("priya"), Web);
        Apply(plan);

        Assert.DoesNotContain(_engine.ReadAll(), r => r.Resource.Type is "project" or "environment");
        Assert.Contains("environment:prod#production_of@project:web", plan.Removed.Select(r => r.ToString()));
        Assert.True(Holds("organization:acme#viewer@user:vera"));

        // Authority comes from the object's place in the tree, so a deleted object gives nobody the right to delete it.
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Delete(U("olivia"), Web)));
    }
}
