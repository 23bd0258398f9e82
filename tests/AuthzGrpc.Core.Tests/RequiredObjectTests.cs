using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Management;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// <c>require one environment#production_of</c> (R22, A003-11): a project is created with exactly one production
/// environment, in one step, and that environment goes only with its project.
/// </summary>
public sealed class RequiredObjectTests : IDisposable
{
    private const string Schema = """
        definition user {}
        definition organization {
            relation owner: user
            relation member: user
            permission create_projects = owner
        }
        definition project {
            relation organization: organization
            relation admin: user
            relation environment_type: environment_type
            permission project_admin = admin + organization->owner
            grant admin by project_admin
            create by organization->create_projects
            delete by project_admin
            require one environment#production_of
            parent organization
        }
        definition environment_type {
            relation project: project
            parent project
        }
        definition environment {
            relation project: project
            relation type: environment_type
            relation production_of: project
            permission change_type = project->project_admin
            grant type, production_of by change_type
            revoke type by change_type
            single type
            unique production_of
            immutable type when production_of
            unique type when production_of
            match type within project
            match production_of as project
            create by project->project_admin
            delete by change_type
            parent project
        }
        """;

    private static readonly ObjectRef Acme = new("organization", "acme");
    private static readonly ObjectRef Shop = new("project", "shop");
    private static readonly ObjectRef ShopMain = new("environment", "shop-main");
    private static readonly ObjectRef ShopProduction = new("environment_type", "shop_production");
    private static readonly SubjectRef Olivia = new("user", "olivia");

    private readonly PermissionEngine _engine = new(CompiledSchema.Compile(Schema));
    private readonly ManagementPlanner _planner;

    public RequiredObjectTests()
    {
        _planner = new ManagementPlanner(_engine);
        _engine.Add(Seed.Select(Relationship.Parse));
    }

    private static readonly string[] Seed =
    [
            "organization:acme#owner@user:olivia",
            "organization:acme#member@user:vera",
            "project:web#organization@organization:acme",
            "environment_type:web_production#project@project:web",
            "environment_type:web_staging#project@project:web",
            "environment:web-main#project@project:web",
            "environment:web-main#type@environment_type:web_production",
            "environment:web-main#production_of@project:web",
            "environment:web-preview#project@project:web",
            "environment:web-preview#type@environment_type:web_staging",
            "project:legacy#organization@organization:acme",
            "environment_type:legacy_main#project@project:legacy",
            "environment_type:legacy_other#project@project:legacy",
            "environment:legacy-a#project@project:legacy",
            "environment:legacy-a#type@environment_type:legacy_main",
            "environment:legacy-b#project@project:legacy",
            "environment:legacy-b#type@environment_type:legacy_main",
            "environment:legacy-c#project@project:legacy",
            "environment:legacy-c#type@environment_type:legacy_other",
    ];

    public void Dispose() => _engine.Dispose();

    private static SubjectRef S(ObjectRef o) => new(o.Type, o.Id);

    private static ContainedObject Production(ObjectRef environment) =>
        new(environment, [("type", S(ShopProduction)), ("production_of", S(Shop))]);

    private static AuthzException Refused(Action action) => Assert.Throws<AuthzException>(action);

    private bool Holds(string relationship) => _engine.ReadAll().Contains(Relationship.Parse(relationship));

    [Fact]
    public void Create_WithItsProductionEnvironment_WritesEveryObjectInOneStep()
    {
        var plan = _planner.Create(Olivia, Shop, Acme, [("environment_type", S(ShopProduction))], [new(ShopProduction, []), Production(ShopMain)]);
        _engine.Write(plan.Updates);

        Assert.True(Holds("project:shop#organization@organization:acme"));
        Assert.True(Holds("environment_type:shop_production#project@project:shop"));
        Assert.True(Holds("environment:shop-main#project@project:shop"));
        Assert.True(Holds("environment:shop-main#type@environment_type:shop_production"));
        Assert.True(Holds("environment:shop-main#production_of@project:shop"));
        Assert.True(_engine.Check(ShopMain, "change_type", Olivia));
    }

    [Fact]
    public void Create_WithoutOrWithTwoProductionEnvironments_IsFailedPrecondition_AndWritesNothing()
    {
        var none = Refused(() => _planner.Create(Olivia, Shop, Acme, [], [new(ShopProduction, []), new(ShopMain, [("type", S(ShopProduction))])]));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, none.Kind);
        Assert.StartsWith("require one environment#production_of", none.Message, StringComparison.Ordinal);

        var two = Refused(() => _planner.Create(Olivia, Shop, Acme, [], [new(ShopProduction, []), Production(ShopMain), Production(new ObjectRef("environment", "shop-other"))]));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, two.Kind);
        Assert.Contains("production_of", two.Message, StringComparison.Ordinal);

        Assert.False(Holds("project:shop#organization@organization:acme"));
    }

    [Fact]
    public void Create_AuthorityComesFromTheNewObjectsCreateRule_BeforeState()
    {
        // Vera may not create projects: permission_denied, although the call also lacks its production environment.
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Create(new SubjectRef("user", "vera"), Shop, Acme, [])).Kind);
    }

    [Fact]
    public void Create_ChildRolesLinkOnlyNewObjects_AndSingleRelationsTakeOneValue()
    {
        // A role attribute naming an existing object (web's type, web itself) is a grant no rule allowed.
        var existingType = new ContainedObject(ShopMain, [("type", new SubjectRef("environment_type", "web_production")), ("production_of", S(Shop))]);
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Create(Olivia, Shop, Acme, [], [existingType])).Kind);
        var webMark = new ContainedObject(new ObjectRef("environment", "shop-web"), [("production_of", new SubjectRef("project", "web"))]);
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Create(Olivia, Shop, Acme, [], [new(ShopProduction, []), Production(ShopMain), webMark])).Kind);

        // `single type`: one type per environment, also on creation.
        var staging = new ObjectRef("environment_type", "shop_staging");
        var twoTypes = new ContainedObject(ShopMain, [("type", S(ShopProduction)), ("type", S(staging)), ("production_of", S(Shop))]);
        var single = Refused(() => _planner.Create(Olivia, Shop, Acme, [], [new(ShopProduction, []), new(staging, []), twoTypes]));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, single.Kind);
        Assert.StartsWith("single type", single.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_AChildThatDoesNotBelongToTheNewObject_IsInvalidArgument()
    {
        var stray = new ContainedObject(new ObjectRef("organization", "other"), []);
        Assert.Equal(AuthzErrorKind.InvalidArgument, Refused(() => _planner.Create(Olivia, Shop, Acme, [], [Production(ShopMain), stray])).Kind);
        Assert.Equal(AuthzErrorKind.InvalidArgument, Refused(() => _planner.Create(Olivia, Shop, Acme, [], [Production(ShopMain), Production(ShopMain)])).Kind);
    }

    [Fact]
    public void UniqueWhen_APreviewDoesNotTakeTheProductionType_NorIsAnEnvironmentSharingItsTypeMarkedProduction()
    {
        var webProduction = new SubjectRef("environment_type", "web_production");
        var preview = Refused(() => _planner.Grant(Olivia, new ObjectRef("environment", "web-preview"), "type", webProduction));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, preview.Kind);
        Assert.StartsWith("unique type when production_of", preview.Message, StringComparison.Ordinal);

        // A project made outside the management API: legacy-a shares its type with legacy-b, legacy-c has its own.
        var legacy = new SubjectRef("project", "legacy");
        Assert.Equal(AuthzErrorKind.FailedPrecondition, Refused(() => _planner.Grant(Olivia, new ObjectRef("environment", "legacy-a"), "production_of", legacy)).Kind);
        _engine.Write(_planner.Grant(Olivia, new ObjectRef("environment", "legacy-c"), "production_of", legacy).Updates);
        Assert.True(Holds("environment:legacy-c#production_of@project:legacy"));

        // On creation too: a preview created with the project does not share the production type.
        var sharing = new ContainedObject(new ObjectRef("environment", "shop-preview"), [("type", S(ShopProduction))]);
        var created = Refused(() => _planner.Create(Olivia, Shop, Acme, [], [new(ShopProduction, []), Production(ShopMain), sharing]));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, created.Kind);
        Assert.StartsWith("unique type when production_of", created.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Delete_TheProductionEnvironmentAlone_IsFailedPrecondition_APreviewOrTheProjectIsNot()
    {
        var web = new ObjectRef("project", "web");
        Assert.Equal(AuthzErrorKind.PermissionDenied, Refused(() => _planner.Delete(new SubjectRef("user", "vera"), new ObjectRef("environment", "web-main"))).Kind);
        var alone = Refused(() => _planner.Delete(Olivia, new ObjectRef("environment", "web-main")));
        Assert.Equal(AuthzErrorKind.FailedPrecondition, alone.Kind);
        Assert.StartsWith("require one environment#production_of", alone.Message, StringComparison.Ordinal);

        _engine.Write(_planner.Delete(Olivia, new ObjectRef("environment", "web-preview")).Updates);
        Assert.False(Holds("environment:web-preview#project@project:web"));

        _engine.Write(_planner.Delete(Olivia, web).Updates);
        Assert.False(Holds("environment:web-main#production_of@project:web"));
    }
}
