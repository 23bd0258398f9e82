using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

public sealed class ManagementRuleTests
{
    private const string Organization = """
        definition user {}
        definition organization {
            relation owner: user
            relation admin: user
            relation member: user
            relation flag_billing: user
            relation flag_plans: user
            relation grant: user                 // rule keywords stay usable as names
            permission manage_users = owner + admin
            permission can_leave = owner + admin
            permission billing = owner + flag_billing
            permission delete_org = owner

            manage owner by owner
            grant admin by manage_users
            revoke admin by manage_users except self
            manage flag_billing by manage_users holding except self
            grant flag_plans by manage_users holding billing
            exclusive owner, admin
            delete by delete_org
            audit by manage_users
            keys by manage_users
            summary by billing
            minimum 1 owner
            base member
            leave by can_leave
            transfer owner by owner
            require one environment#production_of
        }
        definition environment {
            relation organization: organization
            relation production_of: organization
            relation type: organization
            unique production_of
            immutable type when production_of
            unique type when production_of
            parent organization
            create by organization->manage_users
        }
        """;

    [Fact]
    public void ReadAndMembersRules_NameTheirPermission_AndAreAbsentByDefault()
    {
        var schema = CompiledSchema.Compile("""
            definition user {}
            definition team {
                relation owner: user
                relation member: user
                permission view = owner
                read by view
                members by owner
            }
            definition project {
                relation team: team
            }
            """);

        var team = schema.RequireType("team").Rules;
        Assert.Equal(("view", "owner"), (team.Read?.Name, team.Members?.Name));
        var project = schema.RequireType("project").Rules;
        Assert.Null(project.Read);
        Assert.Null(project.Members);
    }

    [Fact]
    public void Rules_AreCompiledOntoTheirDefinition()
    {
        var schema = CompiledSchema.Compile(Organization);
        Assert.True(schema.TryGetType("organization", out var organization));
        Assert.True(schema.TryGetType("environment", out var environment));
        var rules = organization.Rules;
        RelationDefinition Relation(TypeDefinition type, string name) => (RelationDefinition)type.Members.Single(m => m.Name == name);

        Assert.Equal("owner", rules.Grant[Relation(organization, "owner")].Single().By.Name);
        Assert.Equal("owner", rules.Revoke[Relation(organization, "owner")].Single().By.Name);
        Assert.False(rules.Grant[Relation(organization, "admin")].Single().ExceptSelf);
        Assert.True(rules.Revoke[Relation(organization, "admin")].Single().ExceptSelf);
        Assert.Equal(new AccessRule(organization.Members.Single(m => m.Name == "manage_users"), Relation(organization, "flag_billing"), true), rules.Grant[Relation(organization, "flag_billing")].Single());
        Assert.Equal("billing", rules.Grant[Relation(organization, "flag_plans")].Single().Holding!.Name);
        Assert.Null(rules.Revoke[Relation(organization, "flag_billing")].Single().Holding);
        Assert.Equal(["admin", "owner"], rules.Exclusive.Single().Select(r => r.Name).Order());
        Assert.Equal("delete_org", rules.Delete!.Name);
        Assert.Equal("manage_users", rules.Audit!.Name);
        Assert.Equal("manage_users", rules.Keys!.Name);
        Assert.Equal("billing", rules.Summary!.Name);
        Assert.Null(environment.Rules.Summary);
        Assert.Equal("organization", environment.Rules.Parent!.Name);
        Assert.Equal(new CreateRule(Relation(environment, "organization"), "manage_users"), environment.Rules.Create);
        Assert.Equal(1, rules.Minimum[Relation(organization, "owner")]);
        Assert.Equal("member", rules.Base!.Name);
        Assert.Equal("can_leave", rules.LeaveBy!.Name);
        Assert.Equal("owner", rules.Transfer[Relation(organization, "owner")].Name);
        Assert.False(rules.Grant.ContainsKey(Relation(organization, "member")));
        Assert.Contains(Relation(environment, "production_of"), environment.Rules.Unique);
        Assert.Equal("production_of", environment.Rules.Immutable[Relation(environment, "type")]!.Name);
        Assert.Equal(new RequireRule(Relation(environment, "production_of")), rules.Require.Single());
        Assert.Equal("production_of", environment.Rules.UniqueWhen[Relation(environment, "type")].Name);
        Assert.DoesNotContain(Relation(environment, "type"), environment.Rules.Unique);
    }

    [Fact]
    public void DefinitionWithoutRules_HasNone()
    {
        var schema = CompiledSchema.Compile("definition user {}");

        Assert.Same(ManagementRules.None, schema.Types[0].Rules);
    }

    public static TheoryData<string, int, int, string> MalformedRules => new()
    {
        { "grant nobody by owner", 8, 11, "'grant' names 'nobody', which is not a relation or permission of 'org'" },
        { "grant manage by owner", 8, 11, "'grant' names 'manage', a permission of 'org'" },
        { "grant owner by nobody", 8, 20, "'grant' names 'nobody'" },
        { "grant owner owner", 8, 17, "expected 'by' and the permission a caller needs after 'grant'" },
        { "grant owner by owner\n    manage owner by owner", 9, 12, "'owner' already has this grant rule in 'org'" },
        { "revoke owner by owner holding", 8, 27, "'holding' applies to granting" },
        { "grant owner by owner except others", 8, 33, "'except' is followed by 'self'" },
        { "minimum 0 owner", 8, 13, "expected a count of at least 1" },
        { "minimum owner", 8, 13, "expected a count of at least 1" },
        { "leave by manage", 8, 5, "'leave' needs a base membership" },
        { "base owner\n    base member", 9, 5, "already has a base membership ('owner')" },
        { "base team", 8, 10, "must allow a plain subject type" },
        { "immutable owner when manage", 8, 26, "a permission of 'org'" },
        { "frobnicate owner", 8, 5, "expected 'relation', 'permission' or a management rule" },
        { "exclusive owner", 8, 5, "'exclusive' needs at least two relations" },
        { "create by team", 9, 1, "expected '->' and the permission needed on the parent" },
        { "create by team->nothing", 8, 21, "no type that 'team' allows has 'nothing'" },
        { "parent owner\n    parent team", 9, 5, "already has a parent ('owner')" },
        { "grant owner by manage holding nothing", 8, 35, "'holding' names 'nothing'" },
        { "unique owner when manage", 8, 23, "'unique ... when' names 'manage', a permission of 'org'" },
        { "unique owner\n    unique owner when member", 9, 12, "'owner' is already unique" },
        { "require group#member", 8, 13, "expected 'one' and the required object after 'require'" },
        { "require one group member", 8, 23, "expected '#' and the relation that marks the required group" },
        { "require one widget#x", 8, 17, "'require one widget#x' names 'widget', which is not a definition" },
        { "require one group#nothing", 8, 23, "'group' has no relation 'nothing'" },
        { "require one org#manage", 8, 21, "'manage' is a permission of 'org'" },
        { "require one group#member", 8, 23, "'group#member' does not point back at 'org' (it allows user)" },
    };

    [Theory]
    [MemberData(nameof(MalformedRules))]
    public void MalformedRule_IsRejectedWithPosition(string rule, int line, int column, string message)
    {
        var schema = $$"""
            definition user {}
            definition group { relation member: user }
            definition org {
                relation owner: user
                relation member: user
                relation team: group#member
                permission manage = owner
                {{rule}}
            }
            """;

        var error = Assert.Throws<SchemaException>(() => CompiledSchema.Compile(schema));

        Assert.Contains(message, error.Detail, StringComparison.Ordinal);
        Assert.True(error.Line == line && error.Column == column, $"expected {line}:{column}, got {error.Line}:{error.Column} ({error.Detail})");
    }
}
