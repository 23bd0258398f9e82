using System.Text;
using AuthzGrpc.Server.Tests.Infrastructure;
using AuthzGrpc.Storage;
using AuthzGrpc.Storage.Tests.Infrastructure;
using AuthzGrpc.V1;
using Grpc.Core;
using static AuthzGrpc.Server.Tests.Infrastructure.Requests;

namespace AuthzGrpc.Server.Tests;

/// <summary>
/// The evaluation budget over the wire (issue 9, item 4): a schema whose levels each name the level below three times
/// answers at depth 40 with the default budget (sub-results are shared, so the work is linear), and with a budget too
/// small for it every call that evaluates — Check, BatchCheck, Explain, LookupResources, LookupSubjects and a management
/// check — answers RESOURCE_EXHAUSTED, never an allow, while the server goes on answering what fits.
/// </summary>
public sealed class EvaluationLimitsTests
{
    private const int Depth = 40;

    internal static string DoublingSchema(int depth, bool cyclic = false)
    {
        var text = new StringBuilder("definition user {}\ndefinition doc {\n    relation reader: user\n    relation parent: doc\n");
        text.Append("    permission level0 = reader").Append(cyclic ? $" + parent->level{depth}" : string.Empty).Append('\n');
        for (var i = 1; i <= depth; i++)
        {
            text.Append("    permission level").Append(i).Append(" = (level").Append(i - 1).Append(" + level").Append(i - 1).Append(") & (level").Append(i - 1).Append(" + reader)\n");
        }

        return text.Append("    grant reader by level").Append(depth).Append("\n}\n").ToString();
    }

    [Fact]
    public async Task DoublingSchema_AtDepth40_AnswersWithTheDefaultBudget()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StartAsync(database, budget: null);

        Assert.Equal(Decision.Allowed, (await server.Authorization.CheckAsync(Check("user:u", $"level{Depth}", "doc:d"))).Decision);
        Assert.Equal(Decision.Denied, (await server.Authorization.CheckAsync(Check("user:v", $"level{Depth}", "doc:d"))).Decision);
        Assert.Equal(Decision.Allowed, (await server.Authorization.ExplainAsync(
            new ExplainRequest { Subject = Subject("user:u"), Action = $"level{Depth}", Resource = Object("doc:d") })).Decision);
        server.AssertNoErrors();
    }

    [Fact]
    public async Task OverItsBudget_EveryEvaluatingCall_IsResourceExhausted_AndTheServerGoesOnServing()
    {
        await using var database = TestDatabase.Create(StorageProvider.Sqlite);
        await using var server = await StartAsync(database, budget: 40);
        var client = server.Authorization;
        var top = $"level{Depth}";
        var check = Check("user:u", top, "doc:d");
        var management = Check("user:u", "grant", "doc:d");
        management.Context = new CheckContext { TargetRole = "reader", TargetSubject = Subject("user:w") };

        Func<Task>[] calls =
        [
            () => client.CheckAsync(check).ResponseAsync,
            () => client.BatchCheckAsync(new BatchCheckRequest { Items = { Check("user:u", "level1", "doc:d"), check } }).ResponseAsync,
            () => client.ExplainAsync(new ExplainRequest { Subject = Subject("user:u"), Action = top, Resource = Object("doc:d") }).ResponseAsync,
            () => ReadAllAsync(client.LookupResources(new LookupResourcesRequest { Subject = Subject("user:u"), Action = top, ResourceType = "doc" }).ResponseStream),
            () => ReadAllAsync(client.LookupSubjects(new LookupSubjectsRequest { Resource = Object("doc:d"), Action = top, SubjectType = "user" }).ResponseStream),
            () => client.CheckAsync(management).ResponseAsync,
        ];

        foreach (var call in calls)
        {
            var refused = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            Assert.Contains("budget", refused.Status.Detail, StringComparison.Ordinal);

            // What fits the budget is still answered.
            Assert.Equal(Decision.Allowed, (await client.CheckAsync(Check("user:u", "level3", "doc:d"))).Decision);
        }

        server.AssertNoErrors();
    }

    private static async Task ReadAllAsync<T>(IAsyncStreamReader<T> stream)
    {
        while (await stream.MoveNext(CancellationToken.None))
        {
        }
    }

    private static async Task<StoreServer> StartAsync(TestDatabase database, int? budget)
    {
        var folder = Directory.CreateTempSubdirectory("authz-budget-");
        var schema = Path.Combine(folder.FullName, "doubling.zed");
        var relationships = Path.Combine(folder.FullName, "doubling.relationships");
        await File.WriteAllTextAsync(schema, DoublingSchema(Depth));
        await File.WriteAllLinesAsync(relationships, ["doc:d#reader@user:u"]);
        var settings = new Dictionary<string, string?>
        {
            ["Authz:SchemaFile"] = schema,
            ["Authz:RelationshipsFile"] = relationships,
        };
        if (budget is { } steps)
        {
            settings["Authz:EvaluationBudget"] = steps.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        try
        {
            // The files seed the new database at start; the server does not read them again.
            return await StoreServer.StartAsync(database, settings);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
