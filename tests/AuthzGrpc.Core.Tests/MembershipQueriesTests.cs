using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

public sealed class MembershipQueriesTests : IDisposable
{
    private const string Schema = """
        definition user {}
        definition group {
            relation member: user | group#member
        }
        definition team {
            relation owner: user
            relation developer: user | group#member
            relation member: user
            manage owner, developer by owner
            base member
        }
        definition project {
            relation team: team
            relation owner: user
            relation developer: user | group#member
            relation creator: user
            permission deploy = owner + developer + team->owner + team->developer
            permission admin = owner + team->owner
            manage owner, developer by admin
            members by deploy
            parent team
        }
        """;

    private static readonly string[] Relationships =
    [
        "team:t#owner@user:olga",
        "team:t#member@user:olga",
        "team:t#member@user:dan",
        "team:t#developer@group:backend#member",
        "group:backend#member@user:bea",
        "group:backend#member@group:interns#member",
        "group:interns#member@user:ian",
        "project:p#team@team:t",
        "project:p#developer@user:dan",
        "project:p#creator@user:dan",
        "project:q#team@team:t",
    ];

    private readonly PermissionEngine _engine = new(CompiledSchema.Compile(Schema));

    public MembershipQueriesTests() => _engine.Add(Relationships.Select(Relationship.Parse));

    public void Dispose() => _engine.Dispose();

    [Fact]
    public void ListMembers_ShowsDirectAndInheritedRoles_WithTheirSource()
    {
        var members = new MembershipQueries(_engine).ListMembers(new ObjectRef("project", "p"))
            .ToDictionary(m => m.Subject.ToString(), m => m.Roles.Select(Describe).ToList());

        Assert.Equal(["user:bea", "user:dan", "user:ian", "user:olga"], members.Keys.Order());
        // The team's base membership grants nothing on the project, so it is not listed there (R11, A004-5).
        Assert.Equal(["developer on project:p"], members["user:dan"]);
        Assert.Equal(["owner on team:t"], members["user:olga"]);
        Assert.Equal(["developer on team:t via group:backend#member"], members["user:bea"]);
        Assert.Equal(["developer on team:t via group:backend#member"], members["user:ian"]);
    }

    [Fact]
    public void AccessSummary_ListsRolesAndPermissionsOnEveryObjectBelow()
    {
        var summary = new MembershipQueries(_engine).AccessSummary(new SubjectRef("user", "dan"), new ObjectRef("team", "t"));

        Assert.Equal(["project:p: developer | deploy", "team:t: member | "], summary.Select(a => $"{a.Resource}: {string.Join(",", a.Roles)} | {string.Join(",", a.Permissions)}"));
    }

    [Fact]
    public void AccessSummary_OfATeamOwner_CoversProjectsCreatedLater()
    {
        _engine.Add(Relationship.Parse("project:later#team@team:t"));

        var summary = new MembershipQueries(_engine).AccessSummary(new SubjectRef("user", "olga"), new ObjectRef("team", "t"));

        Assert.Contains(summary, a => a.Resource == new ObjectRef("project", "later") && a.Permissions.SequenceEqual(["deploy", "admin"]));
    }

    private static string Describe(RoleSource role) => role.Via is null ? $"{role.Relation} on {role.GrantedOn}" : $"{role.Relation} on {role.GrantedOn} via {role.Via}";

    [Fact]
    public void WhoMaySeeWhat_FollowsRolesAndRevokeAuthority()
    {
        var queries = new MembershipQueries(_engine);
        var project = new ObjectRef("project", "p");

        // `members by deploy` on the project; the team declares no members rule, so no subject lists its members.
        Assert.True(queries.MayListMembers(new SubjectRef("user", "bea"), project));
        Assert.False(queries.MayListMembers(new SubjectRef("user", "stranger"), project));
        Assert.False(queries.MayListMembers(new SubjectRef("user", "olga"), new ObjectRef("team", "t")));
        Assert.True(queries.MayReadAccessSummary(new SubjectRef("user", "dan"), new SubjectRef("user", "dan"), project));
        Assert.True(queries.MayReadAccessSummary(new SubjectRef("user", "olga"), new SubjectRef("user", "dan"), project));
        Assert.False(queries.MayReadAccessSummary(new SubjectRef("user", "bea"), new SubjectRef("user", "dan"), project));
        Assert.False(queries.MayReadAudit(new SubjectRef("user", "olga"), project));
    }
}
