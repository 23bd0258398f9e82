using AuthzGrpc.Core.Engine;

namespace AuthzGrpc.LoadData;

/// <summary>One benchmarked check, with the answer it must give and a step its explanation must show as held.</summary>
/// <param name="Name">The case, as the benchmark that measures it is named.</param>
/// <param name="ResourceType">The resource's type.</param>
/// <param name="ResourceId">The resource's id.</param>
/// <param name="Permission">The permission checked.</param>
/// <param name="SubjectId">The id of the <c>user</c> who asks.</param>
/// <param name="Expected">Whether the data set allows it.</param>
/// <param name="ExpectedStep">A step the explanation must show as held, proving the path; null to skip that test.</param>
public sealed record CheckCase(string Name, string ResourceType, string ResourceId, string Permission, string SubjectId, bool Expected, string? ExpectedStep)
{
    /// <summary>Asks <paramref name="engine"/> in-process.</summary>
    public bool Run(PermissionEngine engine) => engine.Check(ResourceType, ResourceId, Permission, "user", SubjectId, null);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {ResourceType}:{ResourceId}#{Permission}@user:{SubjectId} -> {(Expected ? "allowed" : "denied")}";
}

/// <summary>The checks whose answers and paths the data set fixes, on the ids of <see cref="PlatformDataSet"/>.</summary>
public static class CheckCases
{
    /// <summary>The cases, in benchmark order, on the ids of <paramref name="s"/>.</summary>
    public static CheckCase[] For(CheckScenario s) =>
    [
        new("DirectRelation", "project", s.Project, "admin", s.DirectAdmin, true,
            $"project:{s.Project}#admin (direct)"),
        new("DeepInherited", "application", s.ProductionApplication, "deploy", s.OrganizationDeveloper, true,
            $"organization:{PlatformDataSet.OrganizationId(s.Organization)}#developer (direct)"),
        new("NestedGroups", "project", s.Project, "push_code", s.NestedGroupUser, true,
            $"project:{s.Project}#developer (member of group:{PlatformDataSet.GroupId(s.Organization, "platform")}#member)"),
        new("DeniedDeep", "application", s.ProductionApplication, "logs", s.FormerCreator, false,
            $"environment:{s.ProductionEnvironment}#creator (direct)"),
        new("EnvironmentTypeRole", "environment", s.ProductionEnvironment, "push_code", s.TypeContributor, true,
            $"environment_type:{s.Project}-production#"),
        new("DeniedOutsider", "application", s.ProductionApplication, "view", s.Outsider, false, null),
    ];

    /// <summary>How many objects the scattered cases cycle through; a power of two so the next index is one mask.</summary>
    public const int ScatteredCount = 1 << 16;

    /// <summary>
    /// <see cref="ScatteredCount"/> checks of the deep-inherited shape (application#deploy for one of the organization's
    /// developers) on applications picked at random across every organization, so a run cycles through far more
    /// nodes than the CPU caches hold, as production traffic does.
    /// </summary>
    public static CheckCase[] ScatteredDeepInherited(PlatformDataSet data) => Scattered(data, seed: 1, (random, o, application) =>
        new("DeepInheritedScattered", "application", application, "deploy", PlatformDataSet.UserId(o, 5 + random.Next(10)), true, null));

    /// <summary>
    /// <see cref="ScatteredCount"/> denied checks of application#view on random applications, each for a user of the
    /// previous organization who is in three nested groups there: every branch is evaluated.
    /// </summary>
    public static CheckCase[] ScatteredDeniedOutsider(PlatformDataSet data) => Scattered(data, seed: 2, (_, o, application) =>
        new("DeniedOutsiderScattered", "application", application, "view", PlatformDataSet.UserId((o + data.Organizations - 1) % data.Organizations, 38), false, null));

    private static CheckCase[] Scattered(PlatformDataSet data, int seed, Func<Random, int, string, CheckCase> make)
    {
        var random = new Random(PlatformDataSet.Seed + seed);
        var cases = new CheckCase[ScatteredCount];
        for (var i = 0; i < cases.Length; i++)
        {
            var o = random.Next(data.Organizations);
            var application = PlatformDataSet.ApplicationId(
                o,
                random.Next(PlatformDataSet.ProjectsPerOrganization),
                PlatformDataSet.EnvironmentTypes[random.Next(PlatformDataSet.EnvironmentTypes.Length)],
                random.Next(PlatformDataSet.ApplicationsPerEnvironment));
            cases[i] = make(random, o, application);
        }

        return cases;
    }

    /// <summary>
    /// Throws unless every case gives its expected answer by the path it claims (checked on the explanation), so a
    /// benchmark never measures a different path than its name says.
    /// </summary>
    public static void Verify(PermissionEngine engine, IEnumerable<CheckCase> cases)
    {
        foreach (var c in cases)
        {
            var answer = c.Run(engine);
            if (answer != c.Expected)
            {
                throw new InvalidOperationException($"{c} gave {(answer ? "allowed" : "denied")}: the data set does not produce this case");
            }

            if (c.ExpectedStep is not null)
            {
                var tree = Explain(engine, c);
                if (!tree.Contains("[+] " + c.ExpectedStep, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"{c} did not hold through '{c.ExpectedStep}':\n{tree}");
                }
            }
        }
    }

    /// <summary>The engine's explanation tree of <paramref name="c"/>, as text.</summary>
    public static string Explain(PermissionEngine engine, CheckCase c) =>
        engine.Explain(new(c.ResourceType, c.ResourceId), c.Permission, new("user", c.SubjectId)).ToString();
}
