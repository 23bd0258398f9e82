using System.Diagnostics;
using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.LoadData;

/// <summary>
/// A deterministic multi-tenant platform on the default model (models/default.zed): every organization has the same
/// shape, its role holders drawn with a fixed seed, so two runs load exactly the same relationships.
/// </summary>
/// <remarks>
/// Users of an organization are split into bands so that a benchmark case measures the path it claims: an
/// organization developer holds no project, environment or application role (its check must walk up to the
/// organization), a nested-group user holds no direct role, an environment-type user holds only type roles, and a
/// former member holds nothing but creator links.
/// </remarks>
public sealed class PlatformDataSet
{
    /// <summary>The seed of every random pick; change it and every id of <see cref="Scenario"/> may change.</summary>
    public const int Seed = 20_251_122;

    /// <summary>The benchmarks' size: 1,000 organizations, about 1.48 million relationships.</summary>
    public const int DefaultOrganizations = 1_000;

    /// <summary>Projects in every organization.</summary>
    public const int ProjectsPerOrganization = 20;

    /// <summary>Applications in every environment.</summary>
    public const int ApplicationsPerEnvironment = 2;

    /// <summary>Users of every organization (<c>u-OOOO-00</c> to <c>u-OOOO-46</c>), split into the bands below.</summary>
    public const int UsersPerOrganization = 47;

    /// <summary>Consultants shared by the organizations, each a member of every 100th one.</summary>
    public const int Consultants = 100;

    /// <summary>The environment types of every project; one environment of each.</summary>
    public static readonly string[] EnvironmentTypes = ["production", "staging", "development"];

    private const int BatchSize = 10_000;

    // User bands (index within the organization).
    private static readonly Band Owners = new(0, 2);
    private static readonly Band Admins = new(2, 3);
    private static readonly Band Developers = new(5, 10);
    private static readonly Band Viewers = new(15, 3);
    private static readonly Band ViewersNoSecrets = new(18, 1);
    private static readonly Band ProjectRoles = new(19, 11);
    private static readonly Band GroupOnly = new(30, 10);
    private static readonly Band TypeRoles = new(40, 5);
    private static readonly Band FormerMembers = new(45, 2);

    /// <summary>A data set of <paramref name="organizations"/> organizations (at least 2: the scenario's outsider lives in the previous one).</summary>
    public PlatformDataSet(int organizations = DefaultOrganizations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(organizations, 2);
        Organizations = organizations;
        Scenario = new CheckScenario(organizations);
    }

    /// <summary>How many organizations the data set has.</summary>
    public int Organizations { get; }

    /// <summary>The ids the benchmark cases check, in the middle of the data set; the users picked at random are known once <see cref="Generate"/> has run.</summary>
    public CheckScenario Scenario { get; }

    /// <summary>Reads the default model by walking up from the binary until a folder holds <c>models/default.zed</c>.</summary>
    public static CompiledSchema LoadDefaultModel()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "models", "default.zed");
            if (File.Exists(path))
            {
                return CompiledSchema.Compile(File.ReadAllText(path));
            }
        }

        throw new FileNotFoundException($"models/default.zed not found in {AppContext.BaseDirectory} or any folder above it");
    }

    /// <summary>Creates an engine on the default model and writes every relationship in batches of touches.</summary>
    public LoadReport Load(out PermissionEngine engine)
    {
        var stopwatch = Stopwatch.StartNew();
        engine = new PermissionEngine(LoadDefaultModel());
        var batch = new List<RelationshipUpdate>(BatchSize);
        var generated = 0L;
        foreach (var relationship in Generate())
        {
            batch.Add(new RelationshipUpdate(RelationshipOperation.Touch, relationship));
            generated++;
            if (batch.Count == BatchSize)
            {
                engine.Write(batch);
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            engine.Write(batch);
        }

        var loadTime = stopwatch.Elapsed;
        var gcPause = GC.GetTotalPauseDuration();
        var gen2 = GC.CollectionCount(2);
        var managedBytes = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        return new LoadReport(Organizations, generated, engine.RelationshipCount, loadTime, gcPause, gen2, managedBytes, process.WorkingSet64);
    }

    /// <summary>Every relationship, organization by organization (top-down, so each closure update stays small).</summary>
    public IEnumerable<Relationship> Generate()
    {
        var random = new Random(Seed);
        for (var o = 0; o < Organizations; o++)
        {
            foreach (var relationship in GenerateOrganization(o, random))
            {
                yield return relationship;
            }
        }
    }

    /// <summary>The id of organization <paramref name="o"/>.</summary>
    public static string OrganizationId(int o) => $"org-{o:D4}";

    /// <summary>The id of user <paramref name="k"/> of organization <paramref name="o"/>.</summary>
    public static string UserId(int o, int k) => $"u-{o:D4}-{k:D2}";

    /// <summary>The id of the group <paramref name="name"/> of organization <paramref name="o"/>.</summary>
    public static string GroupId(int o, string name) => $"g-{o:D4}-{name}";

    /// <summary>The id of project <paramref name="p"/> of organization <paramref name="o"/>.</summary>
    public static string ProjectId(int o, int p) => $"p-{o:D4}-{p:D2}";

    /// <summary>The id of a project's environment type.</summary>
    public static string EnvironmentTypeId(int o, int p, string type) => $"{ProjectId(o, p)}-{type}";

    /// <summary>The id of a project's environment of <paramref name="type"/>.</summary>
    public static string EnvironmentId(int o, int p, string type) => $"{EnvironmentTypeId(o, p, type)}-1";

    /// <summary>The id of application <paramref name="a"/> of a project's environment of <paramref name="type"/>.</summary>
    public static string ApplicationId(int o, int p, string type, int a) => $"{EnvironmentId(o, p, type)}-app{a}";

    private IEnumerable<Relationship> GenerateOrganization(int o, Random random)
    {
        var org = Obj("organization", OrganizationId(o));
        string U(int k) => UserId(o, k);
        string Pick(Band band) => U(band.Start + random.Next(band.Count));

        for (var k = 0; k < UsersPerOrganization; k++)
        {
            yield return Rel(org, "member", User(U(k)));
        }

        foreach (var (band, relation) in new[] { (Owners, "owner"), (Admins, "admin"), (Developers, "developer"), (Viewers, "viewer"), (ViewersNoSecrets, "viewer_no_secrets") })
        {
            for (var k = band.Start; k < band.Start + band.Count; k++)
            {
                yield return Rel(org, relation, User(U(k)));
            }
        }

        var consultant = $"consultant-{o % Consultants:D3}";
        yield return Rel(org, "member", User(consultant));
        yield return Rel(org, "flag_billing", User(U(Viewers.Start)));
        yield return Rel(org, "flag_projects_create", Members(GroupId(o, "admins")));

        // Groups: admins and developers hold organization roles; backend is nested in developers;
        // oncall ⊂ sre ⊂ platform, and platform develops every fourth project.
        yield return Rel(org, "admin", Members(GroupId(o, "admins")));
        yield return Rel(org, "developer", Members(GroupId(o, "developers")));
        yield return Rel(Obj("group", GroupId(o, "developers")), "member", Members(GroupId(o, "backend")));
        yield return Rel(Obj("group", GroupId(o, "platform")), "member", Members(GroupId(o, "sre")));
        yield return Rel(Obj("group", GroupId(o, "sre")), "member", Members(GroupId(o, "oncall")));
        foreach (var (group, first, count) in new[] { ("admins", 0, 2), ("developers", 2, 2), ("backend", 4, 2), ("platform", 6, 1), ("sre", 7, 1), ("oncall", 8, 2) })
        {
            for (var k = 0; k < count; k++)
            {
                yield return Rel(Obj("group", GroupId(o, group)), "member", User(U(GroupOnly.Start + first + k)));
            }
        }

        foreach (var (type, count) in new[] { ("cluster", 2), ("domain", 3), ("integration", 2), ("environment_handle", 3) })
        {
            for (var i = 0; i < count; i++)
            {
                yield return Rel(Obj(type, $"{OrganizationId(o)}-{type}-{i}"), "organization", Subject("organization", OrganizationId(o)));
            }
        }

        for (var p = 0; p < ProjectsPerOrganization; p++)
        {
            var isScenario = o == Scenario.Organization && p == Scenario.ProjectIndex;
            var project = Obj("project", ProjectId(o, p));
            yield return Rel(project, "organization", Subject("organization", OrganizationId(o)));
            yield return Rel(project, "creator", User(Pick(Developers)));
            yield return Rel(project, "owner", User(Pick(ProjectRoles)));
            var admin = Pick(ProjectRoles);
            if (isScenario)
            {
                Scenario.DirectAdmin = admin;
            }

            yield return Rel(project, "admin", User(admin));
            for (var i = random.Next(2); i > 0; i--)
            {
                yield return Rel(project, "admin", User(Pick(ProjectRoles)));
            }

            for (var i = 2 + random.Next(2); i > 0; i--)
            {
                yield return Rel(project, "developer", User(Pick(ProjectRoles)));
            }

            for (var i = 1 + random.Next(2); i > 0; i--)
            {
                yield return Rel(project, "viewer", User(Pick(ProjectRoles)));
            }

            yield return Rel(project, "member", User(Pick(ProjectRoles)));
            if (p % 4 == 0)
            {
                yield return Rel(project, "developer", Members(GroupId(o, "platform")));
            }
            else if (p % 4 == 1)
            {
                yield return Rel(project, "viewer", Members(GroupId(o, "backend")));
            }

            if (p == o % ProjectsPerOrganization)
            {
                yield return Rel(project, "developer", User(consultant));
            }

            foreach (var type in EnvironmentTypes)
            {
                var typeObj = Obj("environment_type", EnvironmentTypeId(o, p, type));
                yield return Rel(project, "environment_type", Subject("environment_type", typeObj.Id));
                yield return Rel(typeObj, "project", Subject("project", project.Id));
                var contributor = Pick(TypeRoles);
                if (isScenario && type == "production")
                {
                    Scenario.TypeContributor = contributor;
                }

                yield return Rel(typeObj, "admin", User(Pick(TypeRoles)));
                yield return Rel(typeObj, "contributor", User(contributor));
                yield return Rel(typeObj, "viewer", User(Pick(TypeRoles)));
                if (type == "production" && p % 4 == 0)
                {
                    yield return Rel(typeObj, "admin", Members(GroupId(o, "sre")));
                }
            }

            foreach (var (name, relation) in new[] { ("docs", "documents"), ("releases", "release_management") })
            {
                var group = Obj("project_group", $"{project.Id}-{name}");
                yield return Rel(group, "project", Subject("project", project.Id));
                yield return Rel(group, "member", User(Pick(ProjectRoles)));
                yield return Rel(group, "member", User(Pick(ProjectRoles)));
                yield return Rel(project, relation, Members(group.Id, "project_group"));
            }

            foreach (var type in EnvironmentTypes)
            {
                var environment = Obj("environment", EnvironmentId(o, p, type));
                yield return Rel(environment, "project", Subject("project", project.Id));
                yield return Rel(environment, "type", Subject("environment_type", EnvironmentTypeId(o, p, type)));

                // A fifth of the environments were created by someone who has since lost every role.
                var creator = (isScenario && type == "production") || random.Next(5) == 0 ? Pick(FormerMembers)
                    : random.Next(2) == 0 ? Pick(Developers) : Pick(ProjectRoles);
                if (isScenario && type == "production")
                {
                    Scenario.FormerCreator = creator;
                }

                yield return Rel(environment, "creator", User(creator));
                if (random.Next(2) == 0)
                {
                    yield return Rel(environment, "owner", User(Pick(ProjectRoles)));
                }

                if (random.Next(2) == 0)
                {
                    yield return Rel(environment, "developer", User(Pick(ProjectRoles)));
                }

                for (var a = 0; a < ApplicationsPerEnvironment; a++)
                {
                    var application = Obj("application", ApplicationId(o, p, type, a));
                    yield return Rel(application, "environment", Subject("environment", environment.Id));
                    yield return Rel(application, "owner", User(Pick(ProjectRoles)));
                    yield return Rel(application, "developer", User(Pick(ProjectRoles)));
                    yield return Rel(application, "creator", User(random.Next(2) == 0 ? Pick(Developers) : Pick(ProjectRoles)));
                }
            }
        }
    }

    private static ObjectRef Obj(string type, string id) => new(type, id);

    private static SubjectRef User(string id) => new("user", id);

    private static SubjectRef Subject(string type, string id) => new(type, id);

    private static SubjectRef Members(string id, string type = "group") => new(type, id, "member");

    private static Relationship Rel(ObjectRef resource, string relation, SubjectRef subject) => new(resource, relation, subject);

    private readonly record struct Band(int Start, int Count);
}

/// <summary>The concrete ids of the benchmark cases; the generator fills in the users it picked at random.</summary>
public sealed class CheckScenario(int organizations)
{
    /// <summary>The organization in the middle of the data set.</summary>
    public int Organization { get; } = organizations / 2;

    /// <summary>A project developed by the platform group (index divisible by 4), so nested groups reach it.</summary>
    public int ProjectIndex { get; } = 4;

    /// <summary>The scenario's project.</summary>
    public string Project => PlatformDataSet.ProjectId(Organization, ProjectIndex);

    /// <summary>The production environment of <see cref="Project"/>.</summary>
    public string ProductionEnvironment => PlatformDataSet.EnvironmentId(Organization, ProjectIndex, "production");

    /// <summary>The first application of <see cref="ProductionEnvironment"/>.</summary>
    public string ProductionApplication => PlatformDataSet.ApplicationId(Organization, ProjectIndex, "production", 0);

    /// <summary>A direct <c>project#admin</c> of <see cref="Project"/>.</summary>
    public string DirectAdmin { get; internal set; } = "";

    /// <summary>An organization developer: no role below the organization.</summary>
    public string OrganizationDeveloper => PlatformDataSet.UserId(Organization, 5);

    /// <summary>A member of oncall, nested in sre, nested in platform, which is <c>project#developer</c>.</summary>
    public string NestedGroupUser => PlatformDataSet.UserId(Organization, 38);

    /// <summary>A <c>contributor</c> of the production environment type of <see cref="Project"/>, with no other role.</summary>
    public string TypeContributor { get; internal set; } = "";

    /// <summary>The creator of the production environment, a former member who holds no role any more.</summary>
    public string FormerCreator { get; internal set; } = "";

    /// <summary>A user of the neighbouring organization in three nested groups: no access to this organization.</summary>
    public string Outsider => PlatformDataSet.UserId(Organization - 1, 38);
}

/// <summary>What loading cost.</summary>
/// <param name="Organizations">The data set's size.</param>
/// <param name="Generated">Relationships the generator produced.</param>
/// <param name="Stored">Relationships the engine holds (repeated random picks are stored once).</param>
/// <param name="LoadTime">Generating and writing them.</param>
/// <param name="GcPause">GC pauses of the process so far.</param>
/// <param name="Gen2Collections">Gen2 collections of the process so far.</param>
/// <param name="ManagedBytes">The managed heap after a full collection.</param>
/// <param name="WorkingSetBytes">The process's working set.</param>
public sealed record LoadReport(int Organizations, long Generated, int Stored, TimeSpan LoadTime, TimeSpan GcPause, int Gen2Collections, long ManagedBytes, long WorkingSetBytes)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"data set: {Organizations} organizations, {Generated:N0} relationships generated, {Stored:N0} stored (duplicates from random picks are touched once); " +
        $"load {LoadTime.TotalSeconds:F1} s (GC pauses {GcPause.TotalSeconds:F1} s, {Gen2Collections} gen2 collections); managed heap after full GC {ManagedBytes / (1024.0 * 1024):F0} MiB; working set {WorkingSetBytes / (1024.0 * 1024):F0} MiB";
}
