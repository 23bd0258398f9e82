using AuthzGrpc.Core.Engine;
using AuthzGrpc.Core.Model;
using AuthzGrpc.Core.Schema;
using AuthzGrpc.Core.Validation;

namespace AuthzGrpc.Core.Tests;

/// <summary>
/// The <c>validation</c> block of SpiceDB's validation files: every subject a permission reaches and the stored
/// relations it is found in (<see cref="SubjectExpansion"/>, after SpiceDB's recursive Expand), compared with the list
/// the file gives, each difference named with its line and column.
/// </summary>
public sealed class ExpectedSubjectsTests
{
    private const string Schema = """
        definition user {}
        definition group {
            relation member: user | group#member
        }
        definition doc {
            relation viewer: user | user:* | group#member
            relation editor: user | user:*
            relation banned: user | user:*
            permission view = viewer - banned
            permission both = viewer & editor
            permission any = viewer + editor
        }
        """;

    private static IReadOnlyList<string> Verify(string relationships, string validation)
    {
        var yaml = $"schema: |\n{Indent(Schema)}\nrelationships: |\n{Indent(relationships)}\nvalidation:\n{validation}\n";
        return ValidationFile.Parse(yaml, _ => throw new InvalidOperationException()).RunExpected();
    }

    private static string Indent(string text) => string.Join('\n', text.Split('\n').Select(l => "  " + l));

    private static IReadOnlyList<string> Found(string relationships, string key)
    {
        var expansion = new SubjectExpansion(
            CompiledSchema.Compile(Schema).Syntax, [.. relationships.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Relationship.Parse)]);
        var hash = key.IndexOf('#', StringComparison.Ordinal);
        return [.. expansion.Expand(ObjectRef.Parse(key[..hash]), key[(hash + 1)..])
            .Select(f => $"[{f.ToValidationString()}] is {string.Join('/', f.Relationships.Select(r => $"<{r}>"))}")
            .Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void ASubjectSet_IsFoundItself_AndSoAreItsMembers_EachWhereItIsStored()
    {
        var found = Found("doc:d#viewer@group:eng#member\ngroup:eng#member@user:ann\ngroup:eng#member@group:ops#member\ngroup:ops#member@user:oz", "doc:d#view");

        Assert.Equal(
            ["[group:eng#member] is <doc:d#viewer>", "[group:ops#member] is <group:eng#member>", "[user:ann] is <group:eng#member>", "[user:oz] is <group:ops#member>"],
            found);
    }

    [Theory]
    // A wildcard minus a subject is the wildcard excluding it; minus a wildcard, nothing is left.
    [InlineData("doc:d#viewer@user:*\ndoc:d#banned@user:sam", "doc:d#view", "[user:* - {user:sam}] is <doc:d#viewer>")]
    [InlineData("doc:d#viewer@user:*\ndoc:d#viewer@user:ann\ndoc:d#banned@user:*", "doc:d#view", "")]
    // A subject in both operands of an intersection is found through both; a wildcard on one side keeps the other's subjects.
    [InlineData("doc:d#viewer@user:ann\ndoc:d#editor@user:ann", "doc:d#both", "[user:ann] is <doc:d#editor>/<doc:d#viewer>")]
    [InlineData("doc:d#viewer@user:ann\ndoc:d#editor@user:*", "doc:d#both", "[user:ann] is <doc:d#editor>/<doc:d#viewer>")]
    [InlineData("doc:d#viewer@user:*\ndoc:d#editor@user:*", "doc:d#both", "[user:*] is <doc:d#editor>/<doc:d#viewer>")]
    // A union lists each subject once, with every relation it is found in.
    [InlineData("doc:d#viewer@user:ann\ndoc:d#editor@user:ann\ndoc:d#editor@user:*", "doc:d#any", "[user:*] is <doc:d#editor>|[user:ann] is <doc:d#editor>/<doc:d#viewer>")]
    public void WildcardsAndOperators_FollowSpiceDbsSetRules(string relationships, string key, string expected)
    {
        Assert.Equal(expected.Split('|', StringSplitOptions.RemoveEmptyEntries), Found(relationships, key));
    }

    [Fact]
    public void AListThatMatches_HasNoFailures()
    {
        var failures = Verify(
            "doc:d#viewer@user:*\ndoc:d#banned@user:sam\ndoc:d#editor@user:ann",
            "  doc:d#view:\n    - \"[user:* - {user:sam}] is <doc:d#viewer>\"\n  doc:d#any:\n    - \"[user:*] is <doc:d#viewer>\"\n    - \"[user:ann] is <doc:d#editor>\"");

        Assert.Empty(failures);
    }

    [Fact]
    public void EveryDifference_IsNamed_WithTheLineAndColumnOfWhatDiffers()
    {
        // Schema: lines 2-13; relationships: 15-17; validation from line 19.
        var failures = Verify(
            "doc:d#viewer@user:*\ndoc:d#banned@user:sam\ndoc:d#editor@user:ann",
            "  doc:d#view:\n    - \"[user:*] is <doc:d#viewer>\"\n  doc:d#any:\n    - \"[user:ann] is <doc:d#viewer>\"\n    - \"[user:bob] is <doc:d#viewer>\"");

        Assert.Equal(
            [
                "validation, line 20, column 7: for doc:d#view, subject user:* is found as [user:* - {user:sam}], not with the exclusions listed",
                "validation, line 22, column 7: for doc:d#any, subject user:ann is found through <doc:d#editor>, not <doc:d#viewer>",
                "validation, line 23, column 7: for doc:d#any, expected subject user:bob is not found",
                "validation, line 21, column 3: for doc:d#any, subject [user:*] is found (through <doc:d#viewer>) but not listed",
            ],
            failures);
    }

    [Fact]
    public void ACycle_IsAFailure_NotAHang()
    {
        var failures = Verify("group:a#member@group:b#member\ngroup:b#member@group:a#member", "  group:a#member:\n    - \"[group:b#member] is <group:a#member>\"");

        Assert.Equal(["validation, line 18, column 3: the expansion of group:a#member meets itself (a cycle); SpiceDB's expansion fails on it too"], failures);
    }

    [Theory]
    [InlineData("  doc:d#view:\n    - \"user:ann is <doc:d#viewer>\"", "validation, line 18, column 7: 'user:ann is <doc:d#viewer>' is not '[subject] is <type:id#relation>/…'")]
    [InlineData("  doc:d#view:\n    - \"[user:ann[...]] is <doc:d#viewer>\"", "validation, line 18, column 7: '[user:ann[...]] is <doc:d#viewer>': a caveated subject ('[...]') cannot be expected")]
    [InlineData("  doc:d#view:\n    - \"[user:ann - {user:bob}] is <doc:d#viewer>\"", "validation, line 18, column 7: '[user:ann - {user:bob}] is <doc:d#viewer>': only a wildcard excludes subjects, not user:ann")]
    [InlineData("  doc:d:\n    - \"[user:ann] is <doc:d#viewer>\"", "validation, line 17, column 3: 'doc:d' is not type:id#permission")]
    [InlineData("  doc:d#view: \"[user:ann]\"", "validation, line 17, column 3: 'doc:d#view' needs a list of '[subject] is <type:id#relation>'")]
    public void AMalformedEntry_IsRefused_WithItsLineAndColumn(string validation, string message)
    {
        var error = Assert.Throws<FormatException>(() => Verify("doc:d#viewer@user:ann", validation));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CaveatedAssertions_AreRead_WithTheirContextAndAnswer()
    {
        var yaml = $"schema: |\n{Indent(Schema)}\nassertions:\n  assertCaveated:\n    - doc:d#view@user:ann\n  assertTrue:\n    - 'doc:d#view@user:bob with {{\"x\": 1}}'\n";

        var assertions = ValidationFile.Parse(yaml, _ => throw new InvalidOperationException()).Assertions;

        Assert.Equal(["assertTrue doc:d#view@user:bob with {\"x\":1}", "assertCaveated doc:d#view@user:ann"], assertions.Select(a => a.ToString()));
        Assert.Equal([Permissionship.Allowed, Permissionship.Conditional], assertions.Select(a => a.Answer));
        Assert.False(assertions[1].Expected);
    }

    [Fact]
    public void AnAssertionContext_ThatIsNotAJsonObject_IsRefused_SayingWhy()
    {
        var yaml = $"schema: |\n{Indent(Schema)}\nassertions:\n  assertFalse:\n    - 'doc:d#view@user:ann with [1]'\n";

        var error = Assert.Throws<FormatException>(() => ValidationFile.Parse(yaml, _ => throw new InvalidOperationException()));

        Assert.StartsWith("assertFalse: 'doc:d#view@user:ann with [1]': the context after 'with' is not a JSON object", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectedSubjects_UnderASchemaWithCaveats_AreRefused_SayingWhy()
    {
        var expansion = new SubjectExpansion(
            CompiledSchema.Compile("caveat flagged(on bool) { on }\ndefinition user {}\ndefinition doc {\n  relation viewer: user with flagged\n}").Syntax, []);

        var error = Assert.Throws<FormatException>(() => expansion.Expand(new ObjectRef("doc", "d"), "viewer"));

        Assert.Contains("expected subjects are not checked under a schema with caveats yet", error.Message, StringComparison.Ordinal);
    }
}
