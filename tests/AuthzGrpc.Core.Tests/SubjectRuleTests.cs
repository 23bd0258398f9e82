using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// The rules about the subject of a change: several grant rules per relation told apart by <c>to</c> (existing
/// members) and <c>unless</c> (protected principals), <c>single</c>-valued relations, and <c>match</c> tying the
/// subject to the object (a group of this project, a type of this environment's project, its own project) — each
/// with the allowed case and the refused case and its error kind.
/// </summary>
public sealed class SubjectRuleTests : IDisposable
{
    private const string Schema = """
        definition user {}
        definition organization {
            relation owner: user
            relation manager: user
            relation member: user
            relation flag_billing: user
            permission manage_users = owner + manager
            permission is_owner = owner

            manage owner by owner
            manage flag_billing by manage_users unless is_owner
            revoke member by manage_users
            base member
        }
        definition project {
            relation organization: organization
            relation admin: user | group#member
            relation viewer: user | group#member
            relation documents: group#member
            relation member: user
            permission add_user = admin
            permission update_user = organization->manage_users
            permission belongs = member

            grant admin, viewer by add_user
            grant admin, viewer by update_user to belongs
            revoke admin, viewer by add_user
            grant documents by add_user
            match documents by project
            base member
            parent organization
        }
        definition group {
            relation project: project
            relation member: user
        }
        definition environment {
            relation project: project
            relation production_of: project
            relation type: environment_type
            permission manage = project->add_user
            grant production_of, type by manage
            single type
            match type within project
            match production_of as project
            immutable type when production_of
            parent project
        }
        definition environment_type {
            relation project: project
        }
        """;

    private static readonly string[] Seed =
    [
        "organization:acme#owner@user:olivia",
        "organization:acme#manager@user:mia",
        "project:web#organization@organization:acme",
        "project:web#admin@user:alice",
        "project:web#viewer@user:victor",
        "project:web#member@user:victor",
        "project:web#member@user:alice",
        "project:api#organization@organization:acme",
        "group:web_docs#project@project:web",
        "group:api_docs#project@project:api",
        "environment:preview#project@project:web",
        "environment:prod#project@project:web",
        "environment_type:web_dev#project@project:web",
        "environment_type:web_staging#project@project:web",
        "environment_type:api_dev#project@project:api",
    ];

    private static readonly ObjectRef Acme = new("organization", "acme");
    private static readonly ObjectRef Web = new("project", "web");
    private static readonly ObjectRef Preview = new("environment", "preview");
    private static readonly ObjectRef Prod = new("environment", "prod");

    private readonly PermissionEngine _engine = new(CompiledSchema.Compile(Schema));
    private readonly ManagementPlanner _planner;

    public SubjectRuleTests()
    {
        _engine.Add(Seed.Select(Relationship.Parse));
        _planner = new ManagementPlanner(_engine);
    }

    [Fact]
    public void To_AnUpdaterChangesAnExistingMembersRole_ButCannotAddANewUser()
    {
        // mia manages users of the organization (update_user), but is no project admin (add_user).
        Apply(_planner.Grant(U("mia"), Web, "admin", U("victor")));
        Assert.True(Holds("project:web#admin@user:victor"));

        var refused = Assert.Throws<AuthzException>(() => _planner.Grant(U("mia"), Web, "viewer", U("newcomer")));
        Assert.Equal(AuthzErrorKind.PermissionDenied, refused.Kind);
        Assert.Contains("is for subjects that have belongs there", refused.Message, StringComparison.Ordinal);

        // A project admin adds newcomers (and their base membership).
        Apply(_planner.Grant(U("alice"), Web, "viewer", U("newcomer")));
        Assert.True(Holds("project:web#member@user:newcomer"));
    }

    [Fact]
    public void To_AnInvitationAllowedOnlyByItIsJudgedAgainstTheAccepter()
    {
        // alice (add_user) invites newcomers outright; mia's only rule is for existing members: her invitation carries
        // the condition, which the accepter must meet when accepting.
        Assert.Empty(_planner.RequireGrantAuthority(U("alice"), Web, ["viewer"]));
        var conditions = _planner.RequireGrantAuthority(U("mia"), Web, ["admin"]);
        Assert.Equal(new AcceptCondition(Web, "admin", [new SubjectCondition("belongs", null)]), Assert.Single(conditions), new ConditionComparer());
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.RequireGrantAuthority(U("victor"), Web, ["admin"])));

        List<ObjectRoleChange> grants = [new ObjectRoleChange(Web, RoleChangeKind.Grant, ["admin"])];
        var refused = Assert.Throws<AuthzException>(() => _planner.Accept(grants, conditions, U("newcomer")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.Contains("user:newcomer must first have belongs on project:web", refused.Message, StringComparison.Ordinal);

        Apply(_planner.Accept(grants, conditions, U("victor")));
        Assert.True(Holds("project:web#admin@user:victor"));
    }

    [Fact]
    public void Unless_AnInvitationAllowedOnlyByItIsRefusedToAProtectedAccepter()
    {
        // mia may grant flag_billing to anyone but the owner: her invitation carries that condition.
        var conditions = _planner.RequireGrantAuthority(U("mia"), Acme, ["flag_billing"]);
        Assert.Equal(new AcceptCondition(Acme, "flag_billing", [new SubjectCondition(null, "is_owner")]), Assert.Single(conditions), new ConditionComparer());
        Assert.Equal("unless is_owner", conditions[0].AnyOf[0].ToString());

        // The owner accepting it would have her permissions edited (R19): refused, as a direct grant would be.
        List<ObjectRoleChange> grants = [new ObjectRoleChange(Acme, RoleChangeKind.Grant, ["flag_billing"])];
        var refused = Assert.Throws<AuthzException>(() => _planner.Accept(grants, conditions, U("olivia")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.StartsWith("unless is_owner: user:olivia meets none of unless is_owner on organization:acme", refused.Message, StringComparison.Ordinal);

        Apply(_planner.Accept(grants, conditions, U("victor")));
        Assert.True(Holds("organization:acme#flag_billing@user:victor"));
    }

    // Records holding lists compare by reference; compare the condition's parts.
    private sealed class ConditionComparer : IEqualityComparer<AcceptCondition>
    {
        public bool Equals(AcceptCondition? x, AcceptCondition? y) =>
            x is not null && y is not null && x.Resource == y.Resource && x.Role == y.Role && x.AnyOf.SequenceEqual(y.AnyOf);

        public int GetHashCode(AcceptCondition obj) => obj.Resource.GetHashCode();
    }

    [Fact]
    public void Unless_TheOwnersFlagsCannotBeEdited()
    {
        Apply(_planner.Grant(U("mia"), Acme, "flag_billing", U("victor")));
        var refused = Assert.Throws<AuthzException>(() => _planner.Grant(U("mia"), Acme, "flag_billing", U("olivia")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.StartsWith("unless is_owner:", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Match_By_AGroupOfThisProject_AndNotAnothers()
    {
        Apply(_planner.Grant(U("alice"), Web, "documents", new SubjectRef("group", "web_docs", "member")));
        var refused = Assert.Throws<AuthzException>(() => _planner.Grant(U("alice"), Web, "documents", new SubjectRef("group", "api_docs", "member")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, refused.Kind);
        Assert.Equal("match documents by project: documents of project:web cannot be group:api_docs#member: the project of group:api_docs is project:api", refused.Message);
    }

    [Fact]
    public void Match_Within_ATypeOfThisEnvironmentsProject()
    {
        Apply(_planner.Grant(U("alice"), Preview, "type", new SubjectRef("environment_type", "web_dev")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Grant(U("alice"), Preview, "type", new SubjectRef("environment_type", "api_dev"))));
    }

    [Fact]
    public void Match_As_TheEnvironmentsOwnProject()
    {
        Apply(_planner.Grant(U("alice"), Prod, "production_of", new SubjectRef("project", "web")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Grant(U("alice"), Preview, "production_of", new SubjectRef("project", "api"))));
    }

    [Fact]
    public void Single_AGrantReplacesTheCurrentValue_InOneStep_UnlessImmutable()
    {
        Apply(_planner.Grant(U("alice"), Preview, "type", new SubjectRef("environment_type", "web_dev")));
        var change = _planner.Grant(U("alice"), Preview, "type", new SubjectRef("environment_type", "web_staging"));
        Assert.Equal([Relationship.Parse("environment:preview#type@environment_type:web_dev")], change.Removed);
        Apply(change);
        Assert.False(Holds("environment:preview#type@environment_type:web_dev"));
        Assert.True(Holds("environment:preview#type@environment_type:web_staging"));

        // The production environment's type is fixed once it is production.
        Apply(_planner.Grant(U("alice"), Prod, "type", new SubjectRef("environment_type", "web_dev")));
        Apply(_planner.Grant(U("alice"), Prod, "production_of", new SubjectRef("project", "web")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Grant(U("alice"), Prod, "type", new SubjectRef("environment_type", "web_staging"))));
    }

    [Theory]
    [InlineData("grant viewer by add_user\n grant viewer by update_user", 2, "already has a grant rule for every subject")]
    [InlineData("grant viewer by add_user to nosuch", 1, "'to' names 'nosuch'")]
    [InlineData("match viewer by project", 1, "'user', which 'viewer' allows, has no relation 'project'")]
    [InlineData("match viewer within nosuch", 1, "has no relation 'nosuch'")]
    [InlineData("match viewer sideways project", 1, "expected 'by', 'within' or 'as'")]
    [InlineData("single viewer, viewer", 1, "'viewer' is already single")]
    public void MalformedSubjectRules_AreRejectedWithAPosition(string rules, int line, string message)
    {
        var text = $$"""
            definition user {}
            definition project {
                relation viewer: user
                permission add_user = viewer
                permission update_user = viewer
            {{rules}}
            }
            """;
        var error = Assert.Throws<SchemaException>(() => CompiledSchema.Compile(text));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal(5 + line, error.Line);
    }

    public void Dispose() => _engine.Dispose();

    private static SubjectRef U(string id) => new("user", id);

    private static AuthzErrorKind Refused(Action action) => Assert.Throws<AuthzException>(action).Kind;

    private void Apply(ManagementPlan plan) => _engine.Write(plan.Updates);

    private bool Holds(string relationship) => _engine.ReadAll().Contains(Relationship.Parse(relationship));
}
