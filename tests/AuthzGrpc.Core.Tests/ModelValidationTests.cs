using AuthzGrpc.Core.Reference;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Core.Validation;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// Runs every validation file in models/ (the SpiceDB examples in models/spicedb/ too): each assertion must hold in
/// the engine, and the reference evaluator must agree with it, so a model's table cell is checked by two independent
/// evaluators.
/// </summary>
public sealed class ModelValidationTests
{
    private static readonly string ModelsDirectory = Path.Combine(AppContext.BaseDirectory, "models");

    public static TheoryData<string> ValidationFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(ModelsDirectory, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(ModelsDirectory, file));
        }

        return data;
    }

    [Fact]
    public void ModelsFolder_HoldsTheDefaultAndEverySeedModel()
    {
        var names = Directory.GetFiles(ModelsDirectory, "*.yaml").Select(Path.GetFileNameWithoutExtension).ToHashSet();

        Assert.Superset(new HashSet<string?> { "default", "000-account-roles", "001-project-groups", "002-org-roles", "003-envtype-roles", "004-team-hierarchy" }, names);
    }

    [Theory]
    [MemberData(nameof(ValidationFiles))]
    public void ValidationFile_EveryAssertionHolds(string file)
    {
        var validation = ValidationFile.Load(Path.Combine(ModelsDirectory, file));

        var failures = validation.Run();

        Assert.NotEmpty(validation.Assertions);
        Assert.Contains(validation.Assertions, a => a.Expected);
        Assert.Contains(validation.Assertions, a => !a.Expected);
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    [Theory]
    [MemberData(nameof(ValidationFiles))]
    public void ValidationFile_EveryManagementCaseHolds(string file)
    {
        var validation = ValidationFile.Load(Path.Combine(ModelsDirectory, file));

        var failures = validation.RunManagement();

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    [Fact]
    public void ManagementCases_ReportTheWrongOutcome_AndFailedFollowUpChecks()
    {
        var validation = ValidationFile.Parse("""
            schema: |
              definition user {}
              definition team {
                  relation owner: user
                  relation member: user
                  manage owner by owner
                  minimum 1 owner
                  base member
              }
            relationships: |
              team:t#owner@user:olga
            management:
              - name: the last owner cannot be revoked
                as: user:olga
                revoke: team:t#owner@user:olga
                expect: failed_precondition
              - name: wrongly expected to be refused
                as: user:olga
                grant: team:t#owner@user:bob
                expect: permission_denied
              - name: accepted, with a wrong follow-up check
                as: user:olga
                grant: team:t#owner@user:bob
                expect: ok
                then:
                  assertTrue:
                    - team:t#member@user:bob
                  assertFalse:
                    - team:t#owner@user:bob
            """, _ => string.Empty);

        var failures = validation.RunManagement();

        Assert.Equal(2, failures.Count);
        Assert.Contains("expected PermissionDenied, but it was accepted", failures[0], StringComparison.Ordinal);
        Assert.Contains("assertFalse team:t#owner@user:bob", failures[1], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValidationFiles))]
    public void ValidationFile_ReferenceEvaluatorAgrees(string file)
    {
        var validation = ValidationFile.Load(Path.Combine(ModelsDirectory, file));
        var schema = CompiledSchema.Compile(validation.SchemaText);
        var reference = new ReferenceEvaluator(schema.Syntax, [.. validation.Relationships]);

        var disagreements = validation.Assertions
            .Where(a => reference.Decide(a.Resource, a.Permission, a.Subject, a.Context) != a.Answer)
            .ToList();

        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));
    }

    [Fact]
    public void ValidationFile_ReportsAFailingAssertionWithItsExplanation()
    {
        var validation = ValidationFile.Parse("""
            schema: |
              definition user {}
              definition doc {
                  relation viewer: user
                  permission view = viewer
              }
            relationships: |
              doc:readme#viewer@user:alice
            assertions:
              assertTrue:
                - doc:readme#view@user:bob
              assertFalse:
                - doc:readme#view@user:alice
            """, _ => throw new InvalidOperationException("no schema file"));

        var failures = validation.Run();

        Assert.Equal(2, failures.Count);
        Assert.Contains("doc:readme#view@user:bob", failures[0].ToString(), StringComparison.Ordinal);
        Assert.Contains("[+] doc:readme#viewer (direct)", failures[1].Explanation, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("schema: x\nschemaFile: y", "exactly one of 'schema'")]
    [InlineData("schema: |\n  definition user {}\nrelationships: |\n  not a relationship", "relationships, line 1")]
    [InlineData("schema: |\n  definition user {}\nassertions:\n  assertTrue:\n    - user:alice", "assertTrue")]
    [InlineData("schema: |\n  definition user {}\nasertions: {}", "asertions")]
    [InlineData("schema: |\n  definition user {}\nmanagement:\n  - as: user:a\n    expect: ok", "give exactly one operation")]
    [InlineData("schema: |\n  definition user {}\nmanagement:\n  - as: user:a\n    leave: team:t\n    expect: maybe", "expect must be ok")]
    [InlineData("schema: |\n  definition user {}\nmanagement:\n  - leave: team:t\n    expect: ok", "'as' is required")]
    public void ValidationFile_Malformed_SaysWhatIsWrong(string yaml, string message)
    {
        var error = Assert.Throws<FormatException>(() => ValidationFile.Parse(yaml, _ => string.Empty));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
