using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Reference;
using AuthzGrpc.Core.Schema;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// The three kinds of schema SpiceDB loads that this service used to refuse — a recursive permission with no base case,
/// permissions naming each other on the same object, an arrow to a name no allowed type has — load with a warning and
/// answer every operation (Check, Explain, both lookups, the shared graph's records) the way SpiceDB does: never
/// granting where nothing can grant, and failing rather than guessing where a check goes round a cycle undecided.
/// </summary>
public sealed class SchemasSpiceDbLoadsTests
{
    private const string Schema = """
        definition user {}
        definition folder {
            relation parent: folder
            relation viewer: user
            permission climb = parent->climb
            permission dangling = parent->nowhere
            permission every_dangling = parent.all(nowhere)
            permission aaa = bbb + viewer
            permission bbb = aaa
            permission view = viewer + parent->view
        }
        """;

    private static readonly string[] Relationships =
    [
        "folder:root#viewer@user:ann",
        "folder:docs#parent@folder:root",
        "folder:deep#parent@folder:docs",
    ];

    private static PermissionEngine NewEngine()
    {
        var engine = new PermissionEngine(CompiledSchema.Compile(Schema));
        engine.Add(Relationships.Select(Relationship.Parse));
        return engine;
    }

    [Fact]
    public void Schema_LoadsWithAWarningForEachKind()
    {
        var warnings = CompiledSchema.CompileForWrite(Schema).Warnings.Select(w => w.ToString()).ToList();

        Assert.Contains(warnings, w => w.StartsWith("line 5, column 16: permission 'folder#climb' never grants", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith("line 6, column 35: arrow 'parent->nowhere' in 'folder#dangling' never grants", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith("line 7, column 44: arrow 'parent.all(nowhere)' in 'folder#every_dangling' never grants", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.StartsWith("line 8, column 16: permission 'folder#aaa' refers to itself on the same object (aaa -> bbb -> aaa)", StringComparison.Ordinal));
        Assert.DoesNotContain(warnings, w => w.Contains("'folder#view'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("climb")]
    [InlineData("dangling")]
    [InlineData("every_dangling")]
    public void PermissionThatNeverGrants_DeniesEveryone_OnEveryPath(string permission)
    {
        using var engine = NewEngine();
        var records = new RecordSource(engine);
        var reference = new ReferenceEvaluator(engine.Schema.Syntax, [.. Relationships.Select(Relationship.Parse)]);
        foreach (var folder in new[] { "root", "docs", "deep", "unknown" })
        {
            var resource = new ObjectRef("folder", folder);
            var ann = new SubjectRef("user", "ann");
            Assert.False(engine.Check(resource, permission, ann));
            Assert.False(engine.Explain(resource, permission, ann).Result);
            Assert.False(records.Check(resource, permission, ann));
            Assert.False(reference.Check(resource, permission, ann));
            Assert.Empty(engine.LookupSubjects(resource, permission, "user").Subjects);
        }

        Assert.Empty(engine.LookupResources("folder", permission, new SubjectRef("user", "ann")).Resources);
    }

    [Fact]
    public void SameObjectCycle_GrantsThroughItsBaseCase_AndFailsUndecidedOtherwise_AsSpiceDbDoes()
    {
        using var engine = NewEngine();
        var root = new ObjectRef("folder", "root");

        Assert.True(engine.Check(root, "aaa", new SubjectRef("user", "ann")));
        Assert.True(engine.Check(root, "bbb", new SubjectRef("user", "ann")));
        Assert.True(new RecordSource(engine).Check(root, "bbb", new SubjectRef("user", "ann")));

        // Round the cycle without finding bob: an error, never a guess (SpiceDB: "max depth exceeded").
        var undecided = Assert.Throws<AuthzException>(() => engine.Check(root, "bbb", new SubjectRef("user", "bob")));
        Assert.Equal(AuthzErrorKind.DepthExceeded, undecided.Kind);
        Assert.Equal(AuthzErrorKind.DepthExceeded, Assert.Throws<AuthzException>(() => new RecordSource(engine).Check(root, "aaa", new SubjectRef("user", "bob"))).Kind);
    }

    [Fact]
    public void RecursionWithABaseCase_StillGrantsDownTheChain()
    {
        using var engine = NewEngine();

        Assert.True(engine.Check(new ObjectRef("folder", "deep"), "view", new SubjectRef("user", "ann")));
        Assert.Equal(["deep", "docs", "root"], engine.LookupResources("folder", "view", new SubjectRef("user", "ann")).Resources.Select(r => r.Id).Order(StringComparer.Ordinal));
    }

    // The shared graph's records of the engine's model, evaluated as a replica with a cold near cache evaluates them.
    private sealed class RecordSource(PermissionEngine engine)
    {
        private readonly Dictionary<(string, string), byte[]> _stored = ColdRecords.Of(engine);

        public bool Check(ObjectRef resource, string permission, SubjectRef subject) =>
            ColdRecords.Check(engine.Schema, _stored, resource, permission, subject, DateTimeOffset.UtcNow).Allowed;
    }
}
