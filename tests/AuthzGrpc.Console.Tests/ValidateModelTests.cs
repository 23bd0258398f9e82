using System.Text.Json;
using AuthzGrpc.Testing;
using AuthzGrpc.V1;
using Grpc.Core;

namespace AuthzGrpc.Console.Tests;

/// <summary>
/// SchemaService.ValidateModel over gRPC against a real server: problems at their part, line and column, nothing
/// stored, admin keys only, bounded input.
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ValidateModelTests(ConsoleServer console)
{
    private const string Schema = """
        definition user {}

        definition doc {
            relation viewer: user
            permission view = viewer
        }
        """;

    private SchemaService.SchemaServiceClient Admin => new(console.Server.Channel);

    /// <summary>Every model the console offers as a starting point (wwwroot/models.json, from models/).</summary>
    public static TheoryData<string> ModelNames() =>
        [.. Models().Select(model => model.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(ModelNames))]
    public async Task EverySeedModel_AsTheConsoleLoadsIt_IsValid(string name)
    {
        var model = Models().Single(m => m.GetProperty("name").GetString() == name);

        var answer = await Admin.ValidateModelAsync(new ValidateModelRequest
        {
            Schema = model.GetProperty("schema").GetString(),
            Relationships = model.GetProperty("relationships").GetString(),
            Assertions = model.GetProperty("assertions").GetString(),
        });

        Assert.Empty(answer.Problems);
        Assert.True(answer.AssertionCount > 0 || name.StartsWith("spicedb/", StringComparison.Ordinal), $"{name}: no assertions read");
    }

    [Fact]
    public async Task Problems_OfEveryPart_AreAnsweredAtTheirLineAndColumn_AndNothingIsStored()
    {
        var before = await Admin.ReadSchemaAsync(new ReadSchemaRequest());

        var answer = await Admin.ValidateModelAsync(new ValidateModelRequest
        {
            Schema = Schema,
            Relationships = "doc:1#viewer@user:ann\n\n  doc:2#editor@user:bob\nnot a relationship\ndoc:3#viewer@user:cy",
            Assertions = "assertTrue:\n  - doc:1#view@user:ann\n  - doc:3#view@user:ann\nassertFalse:\n  - doc:1#view@user:bob\n  - doc:1#fly@user:bob\n",
        });

        var problems = answer.Problems.Select(p => (p.Part, p.Line, p.Column)).ToList();
        Assert.Equal(
            [(ModelPart.Relationships, 3, 3), (ModelPart.Relationships, 4, 1), (ModelPart.Assertions, 3, 5), (ModelPart.Assertions, 6, 5)],
            problems);
        Assert.Contains("editor", answer.Problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("doc:3#view@user:ann is denied, asserted allowed", answer.Problems[2].Message, StringComparison.Ordinal);
        Assert.Contains("fly", answer.Problems[3].Message, StringComparison.Ordinal);
        Assert.Equal((3, 4), (answer.RelationshipCount, answer.AssertionCount));
        var after = await Admin.ReadSchemaAsync(new ReadSchemaRequest());
        Assert.Equal((before.Schema, before.Revision), (after.Schema, after.Revision));
    }

    [Fact]
    public async Task ASchemaError_IsAnsweredAtItsLineAndColumn_AndTheRestIsOnlyParsed()
    {
        var answer = await Admin.ValidateModelAsync(new ValidateModelRequest
        {
            Schema = Schema.Replace("relation viewer: user", "relation viewer: usr", StringComparison.Ordinal),
            Relationships = "doc:1#viewer@user:ann",
            Assertions = "assertTrue:\n  - doc:1#view@user:ann\n",
        });

        var problem = Assert.Single(answer.Problems);
        Assert.Equal((ModelPart.Schema, 4, 22), (problem.Part, problem.Line, problem.Column));
        Assert.Contains("usr", problem.Message, StringComparison.Ordinal);
        Assert.Equal((1, 1), (answer.RelationshipCount, answer.AssertionCount));
    }

    [Theory]
    [InlineData("assertTrue: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]")]
    [InlineData("assertTrue: \"unterminated")]
    [InlineData("- just a list")]
    [InlineData("assertCaveated:\n  - doc:1#view@user:ann")]
    [InlineData("assertTrue: doc:1#view@user:ann")]
    public async Task MalformedAssertions_AreProblems_NeverErrors(string assertions)
    {
        var answer = await Admin.ValidateModelAsync(new ValidateModelRequest { Schema = Schema, Assertions = assertions });

        var problem = Assert.Single(answer.Problems);
        Assert.Equal(ModelPart.Assertions, problem.Part);
        Assert.True(problem.Line >= 1 && problem.Column >= 1);
    }

    [Fact]
    public async Task TooMuchInput_IsInvalidArgument_BeforeAnyEvaluation()
    {
        var huge = new string('x', 262_145);
        var many = "assertTrue:\n" + string.Concat(Enumerable.Repeat("  - doc:1#view@user:ann\n", 1001));

        var tooLong = await Assert.ThrowsAsync<RpcException>(async () => await Admin.ValidateModelAsync(new ValidateModelRequest { Schema = Schema, Relationships = huge }));
        var tooMany = await Assert.ThrowsAsync<RpcException>(async () => await Admin.ValidateModelAsync(new ValidateModelRequest { Schema = Schema, Assertions = many }));

        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        Assert.Contains("relationships", tooLong.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);
        Assert.Contains("at most 1000", tooMany.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnlyAdminKeys_MayValidate_LikeReadSchema()
    {
        var check = new SchemaService.SchemaServiceClient(TestKeys.Channel(console.Server.Address, console.CheckKey));

        var validate = await Assert.ThrowsAsync<RpcException>(async () => await check.ValidateModelAsync(new ValidateModelRequest { Schema = Schema }));
        var read = await Assert.ThrowsAsync<RpcException>(async () => await check.ReadSchemaAsync(new ReadSchemaRequest()));

        Assert.Equal(StatusCode.PermissionDenied, validate.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, read.StatusCode);
        Assert.Contains("check-only keys cannot call authz.v1.SchemaService/ValidateModel", validate.Status.Detail, StringComparison.Ordinal);
    }

    internal static List<JsonElement> Models()
    {
        using var file = File.OpenRead(Path.Combine(Repository.Root, "src", "AuthzGrpc.Console", "wwwroot", "models.json"));
        return [.. JsonDocument.Parse(file).RootElement.Clone().EnumerateArray()];
    }
}
