using AuthzGrpc.Core.Model;

namespace AuthzGrpc.Cli.Tests;

/// <summary>How the management commands read <c>-r</c>, <c>--related</c> and <c>--permission</c>, without a server.</summary>
public sealed class ManagementArgumentTests
{
    private static readonly ObjectRef Storefront = new("project", "storefront");

    private static readonly ObjectRef[] StorefrontTypes =
    [
        new("environment_type", "storefront_production"),
        new("environment_type", "storefront_staging"),
        new("environment_type", "storefront_development"),
    ];

    [Fact]
    public void RoleArgument_TheThreeForms_AndCommaLists()
    {
        var roles = RoleArgument.ParseAll(["admin", "production:viewer,development:contributor", "environment_type:payments_staging#admin"]);

        Assert.Equal(
            [
                new RoleArgument("admin"),
                new RoleArgument("viewer", RelatedName: "production"),
                new RoleArgument("contributor", RelatedName: "development"),
                new RoleArgument("admin", Object: new ObjectRef("environment_type", "payments_staging")),
            ],
            roles);
        Assert.Equal(["admin", "production:viewer", "development:contributor", "environment_type:payments_staging#admin"], roles.Select(r => r.ToString()));
    }

    [Theory]
    [InlineData("Admin", "'Admin' is not a role name")]
    [InlineData("development:", "'' is not a role name")]
    [InlineData("dev elopment:viewer", "'dev elopment' is not an object name")]
    [InlineData("environment_type#admin", "'environment_type' is not an object")]
    public void RoleArgument_Malformed_IsAFormatExceptionNamingTheValue(string text, string message)
    {
        var error = Assert.Throws<FormatException>(() => RoleArgument.Parse(text));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("development", "storefront_development")]
    [InlineData("Production", "storefront_production")]
    [InlineData("storefront_staging", "storefront_staging")]
    public void RelatedObjects_Pick_ByIdOrIdSuffix(string name, string id)
    {
        var related = RelatedObjects.Parse(RelatedObjects.DefaultText);

        Assert.Equal(new ObjectRef("environment_type", id), related.Pick(name, Storefront, StorefrontTypes));
    }

    [Fact]
    public void RelatedObjects_Pick_NoneOrSeveral_ListsTheCandidates()
    {
        var related = RelatedObjects.Parse("stages:stage");
        ObjectRef[] stages = [new("stage", "eu-prod"), new("stage", "us-prod")];

        var none = Assert.Throws<CommandLineException>(() => related.Pick("qa", Storefront, stages));
        var several = Assert.Throws<CommandLineException>(() => related.Pick("prod", Storefront, stages));

        Assert.Equal(("stages", "stage"), (related.Relation, related.Type));
        Assert.StartsWith("'qa' names no stage of project:storefront through its relation 'stages' (it has eu-prod, us-prod)", none.Message, StringComparison.Ordinal);
        Assert.StartsWith("'prod' names more than one stage", several.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OrganizationPermissions_MapToFlagRelations()
    {
        Assert.Equal(["flag_billing", "flag_projects_create"], OrganizationPermissions.ParseAll(["billing,projects:create", "billing"]));
        Assert.Empty(OrganizationPermissions.ParseAll([""]));
        Assert.Equal("flag_projects_list", OrganizationPermissions.ToRelation("projects_list"));
        Assert.True(OrganizationPermissions.IsFlag("flag_members"));
        Assert.False(OrganizationPermissions.IsFlag("member"));
        Assert.Throws<FormatException>(() => OrganizationPermissions.ToRelation("projects create"));
    }
}
