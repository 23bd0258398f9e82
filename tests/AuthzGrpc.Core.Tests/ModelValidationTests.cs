using AuthzGrpc.Core.Reference;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Core.Validation;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// Runs every validation file in models/: each assertion must hold in the engine, and the reference evaluator must
/// agree with it, so a model's table cell is checked by two independent evaluators.
/// </summary>
public sealed class ModelValidationTests
{
    private static readonly string ModelsDirectory = Path.Combine(AppContext.BaseDirectory, "models");

    public static TheoryData<string> ValidationFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(ModelsDirectory, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
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
    public void ValidationFile_ReferenceEvaluatorAgrees(string file)
    {
        var validation = ValidationFile.Load(Path.Combine(ModelsDirectory, file));
        var schema = CompiledSchema.Compile(validation.SchemaText);
        var reference = new ReferenceEvaluator(schema.Syntax, [.. validation.Relationships]);

        var disagreements = validation.Assertions
            .Where(a => reference.Check(a.Resource, a.Permission, a.Subject) != a.Expected)
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
    public void ValidationFile_Malformed_SaysWhatIsWrong(string yaml, string message)
    {
        var error = Assert.Throws<FormatException>(() => ValidationFile.Parse(yaml, _ => string.Empty));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
